/**
 * The console's build (docs/console.md): Vite bundles console/src into static files in
 * dist/console, served by `wharf serve` under /harbor/ (Harbor's URL scheme). No CDN: every
 * asset is in the bundle.
 */
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/harbor/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    // `npm run console:dev`: the API of a Wharf on :5000 behind Vite's dev server.
    proxy: { '/api': 'http://127.0.0.1:5000', '/c': 'http://127.0.0.1:5000', '/v2': 'http://127.0.0.1:5000' },
  },
});
