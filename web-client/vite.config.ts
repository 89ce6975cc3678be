// Multi-page build of the browser apps: the landing page, the customer widget, the agent workspace and
// the admin console. Output goes to dist/web, which the server serves statically.
// Build: npx vite build --config web-client/vite.config.ts   Dev: npx vite --config web-client/vite.config.ts
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const page = (name: string): string => fileURLToPath(new URL(name, import.meta.url));
/** Where `vite` (dev server) forwards API and socket.io traffic; the server's default address. */
const backend = process.env.MCCS_DEV_BACKEND ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      input: {
        index: page('index.html'),
        widget: page('widget/index.html'),
        agent: page('agent/index.html'),
        admin: page('admin/index.html'),
      },
    },
  },
  server: {
    proxy: {
      '/api': backend,
      '/socket.io': { target: backend, ws: true },
    },
  },
});
