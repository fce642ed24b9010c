// The layers hold (README, Dashboard): ESLint's import-x/no-restricted-paths, as eslint.config.js sets it,
// refuses a feature importing another or the app, and shared code importing a feature; it lets the app
// compose features and features use shared code.
import { ESLint } from "eslint";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const eslint = new ESLint({ cwd: root });

async function restricted(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: `${root}${file}` });
  return (result?.messages ?? []).filter((message) => message.ruleId === "import-x/no-restricted-paths").map((message) => message.message);
}

describe("layers", () => {
  // The first lint loads eslint.config.js, typescript-eslint's parser and the plugins: a cold start that took
  // 5.1 s in one CI run on the loaded 2-core machine and failed the first test's 5 s timeout. It is setup, not
  // what these tests check, so it happens here, with a bound of its own; each test still has Vitest's 5 s.
  beforeAll(async () => {
    await restricted("src/lib/warm-up.ts", "export const warmUp = 1;\n");
  }, 60_000);

  it("refuses a feature importing another feature", async () => {
    const messages = await restricted("src/features/alerts/probe.ts", 'import { fleetKeys } from "../fleet/api/keys";\nexport const probe = fleetKeys;\n');
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain("A feature does not import another");
  });

  it("refuses a feature importing the app", async () => {
    const messages = await restricted("src/features/vehicles/probe.ts", 'import { createQueryClient } from "../../app/query-client";\nexport const probe = createQueryClient;\n');
    expect(messages).toEqual([expect.stringContaining("A feature does not import the app")]);
  });

  it("refuses shared code importing a feature or the app", async () => {
    const source = 'import { alertKeys } from "../features/alerts/api/keys";\nimport { App } from "../app/App";\nexport const probe = [alertKeys, App];\n';
    for (const file of ["src/lib/probe.ts", "src/components/probe.ts", "src/api/probe.ts"]) {
      expect(await restricted(file, source)).toEqual([
        expect.stringContaining("Shared code imports no feature"),
        expect.stringContaining("Shared code imports no feature"),
      ]);
    }
  });

  it("lets a feature use itself and shared code, and the app compose features", async () => {
    expect(
      await restricted(
        "src/features/alerts/probe.ts",
        'import { alertKeys } from "./api/keys";\nimport { api } from "../../api/client";\nimport { DataTable } from "../../components/table/DataTable";\nimport { vocabularyFrom } from "../../lib/vocabulary";\nexport const probe = [alertKeys, api, DataTable, vocabularyFrom];\n',
      ),
    ).toEqual([]);
    expect(
      await restricted(
        "src/app/routes/probe.ts",
        'import { alertKeys } from "../../features/alerts/api/keys";\nimport { fleetKeys } from "../../features/fleet/api/keys";\nexport const probe = [alertKeys, fleetKeys];\n',
      ),
    ).toEqual([]);
  });
});
