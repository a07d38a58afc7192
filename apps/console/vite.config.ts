import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// The console is built into dist/console, which the broker serves at `/` (apps/broker/src/http/console-static.ts).
// JSX goes through esbuild's automatic runtime: no React plugin needed.
export default defineConfig({
  root: resolve(__dirname),
  base: '/',
  publicDir: resolve(__dirname, 'public'),
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: resolve(__dirname, '../../dist/console'),
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    // The bundled map data alone is a few hundred kB; nothing is fetched from elsewhere.
    chunkSizeWarningLimit: 1500,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080', '/ga4gh': 'http://127.0.0.1:8080' } },
});
