import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Relative base: the build works at `/` behind the studio service and inside a Tauri window.
// In development, `npm run dev:api` serves canned JSON on :5174 and Vite proxies /api to it
// (or to a real studio: OXBOW_STUDIO=http://127.0.0.1:PORT npm run dev).
declare const process: { env: Record<string, string | undefined> };
const target = process.env.OXBOW_STUDIO ?? 'http://127.0.0.1:5174';

export default defineConfig({
  base: './',
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 300,
  },
  server: {
    proxy: {
      // The studio checks Host and Origin (DNS-rebinding defence): present the studio's own origin.
      '/api': { target, ws: true, changeOrigin: true, headers: { origin: target } },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
