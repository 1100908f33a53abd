/// <reference types="vitest" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The API and the local issuer share an origin with the console; in dev, proxy them to the local server.
const api = process.env.NEXOD_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  base: "/",
  server: {
    port: 5173,
    proxy: {
      "/v1": api,
      "/local": api,
      "/local-issuer": api,
    },
  },
  build: { outDir: "dist", sourcemap: false, chunkSizeWarningLimit: 1000 },
  // Pure helpers run under node; component tests (*.test.tsx) render into jsdom with Testing Library.
  test: {
    environment: "node",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    environmentMatchGlobs: [["src/**/*.test.tsx", "jsdom"]],
  },
});
