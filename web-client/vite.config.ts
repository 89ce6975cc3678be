// Multi-page build of the browser apps: the landing page, the customer widget, the agent workspace and
// the admin console. Output goes to dist/web, which the server serves statically.
// Build: npx vite build --config web-client/vite.config.ts   Dev: npx vite --config web-client/vite.config.ts
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, transformWithEsbuild, type Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const page = (name: string): string => fileURLToPath(new URL(name, import.meta.url));
/** Where `vite` (dev server) forwards API and socket.io traffic; the server's default address. */
const backend = process.env.MCCS_DEV_BACKEND ?? 'http://127.0.0.1:8080';

/**
 * The agent app as an installable web app: its manifest and icons at fixed URLs under /agent/, and its
 * service worker (agent/pwa/sw.ts) as /agent/sw.js with the list of the shell's files to keep, which
 * is known only once the bundle has its hashed names.
 */
function agentPwa(): Plugin {
  const source = (name: string): string => fileURLToPath(new URL(`agent/pwa/${name}`, import.meta.url));
  const STATIC = ['manifest.webmanifest', 'icon.svg', 'icon-192.png', 'icon-512.png'];
  return {
    name: 'mccs-agent-pwa',
    apply: 'build',
    // After Vite's own bundle steps, which drop the empty JS chunks of style-only modules.
    enforce: 'post',
    async generateBundle(_options, bundle) {
      const version = createHash('sha256');
      for (const name of STATIC) {
        const content = readFileSync(source(name));
        version.update(content);
        this.emitFile({ type: 'asset', fileName: `agent/${name}`, source: content });
      }
      const entry = Object.values(bundle).find((f) => f.type === 'chunk' && f.isEntry && f.name === 'agent');
      if (!entry || entry.type !== 'chunk') return this.error('the agent entry chunk is missing');
      // The entry, the chunks it imports statically, and their styles: what the first screen needs.
      const shell = new Set<string>();
      const visit = (fileName: string): void => {
        const file = bundle[fileName];
        if (!file || shell.has(fileName)) return;
        shell.add(fileName);
        if (file.type !== 'chunk') return;
        for (const css of file.viteMetadata?.importedCss ?? []) shell.add(css);
        file.imports.forEach(visit);
      };
      visit(entry.fileName);
      const precache = ['/agent/', ...STATIC.map((n) => `/agent/${n}`), ...[...shell].map((f) => `/${f}`)];
      version.update(precache.join('\n'));
      const sw = await transformWithEsbuild(readFileSync(source('sw.ts'), 'utf8'), source('sw.ts'), {
        loader: 'ts',
        format: 'iife',
        target: 'es2022',
        define: { PRECACHE: JSON.stringify(precache), CACHE_VERSION: JSON.stringify(version.digest('hex').slice(0, 12)) },
      });
      this.emitFile({ type: 'asset', fileName: 'agent/sw.js', source: sw.code });
    },
  };
}

export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  plugins: [agentPwa()],
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
