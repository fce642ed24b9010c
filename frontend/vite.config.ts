/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` serves the app on :5173 and proxies the API to Django (make run: 127.0.0.1:8000).
const api = process.env.API_ORIGIN ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: { "/api": api },
  },
  build: {
    outDir: "dist",
    // Django serves dist/ at / (WhiteNoise); the hashed files live under /assets/.
    assetsDir: "assets",
    chunkSizeWarningLimit: 1000,
  },
  test: {
    projects: [
      // The pure functions run in node (a test file that needs a window says `@vitest-environment jsdom`).
      { extends: true, test: { name: "unit", include: ["src/**/*.test.ts"], environment: "node" } },
      // The components render into jsdom.
      { extends: true, test: { name: "components", include: ["src/**/*.test.tsx"], environment: "jsdom", setupFiles: ["src/testing/setup.ts"] } },
    ],
  },
});
