import { readdirSync } from "node:fs";
import js from "@eslint/js";
import globals from "globals";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import importX from "eslint-plugin-import-x";
import reactHooks from "eslint-plugin-react-hooks";
import reactRefresh from "eslint-plugin-react-refresh";
import tseslint from "typescript-eslint";

// The dashboard's layers (README, Dashboard): shared code (src/api, src/components, src/lib, src/testing)
// -> features (src/features/<feature>) -> the app (src/app: routes and providers, where features meet).
// A feature imports shared code and itself only; shared code imports no feature and not the app.
const features = readdirSync(new URL("./src/features", import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

const layers = [
  ...features.map((feature) => ({
    target: `./src/features/${feature}`,
    from: "./src/features",
    except: [`./${feature}`],
    message: "A feature does not import another: compose them in src/app, or move what both need to src/components or src/lib.",
  })),
  {
    target: "./src/features",
    from: "./src/app",
    message: "A feature does not import the app.",
  },
  {
    target: ["./src/api", "./src/components", "./src/lib", "./src/testing"],
    from: ["./src/features", "./src/app"],
    message: "Shared code imports no feature and not the app.",
  },
];

export default tseslint.config(
  { ignores: ["dist", "node_modules", "src/api/schema.d.ts"] },
  {
    files: ["**/*.{ts,tsx}"],
    extends: [js.configs.recommended, ...tseslint.configs.strict],
    languageOptions: { ecmaVersion: 2022, globals: globals.browser },
    plugins: { "react-hooks": reactHooks, "react-refresh": reactRefresh, "import-x": importX },
    settings: {
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: "./tsconfig.json" })],
    },
    rules: {
      ...reactHooks.configs.recommended.rules,
      "react-refresh/only-export-components": ["warn", { allowConstantExport: true }],
      "import-x/no-restricted-paths": ["error", { basePath: import.meta.dirname, zones: layers }],
    },
  },
);
