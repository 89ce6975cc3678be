// A real mccs server process (the build's dist/main.js), for tests that need several processes or a
// crash: started with its own environment, waited for until /readyz answers, stopped or killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';

export const MAIN = path.resolve('dist/main.js');

export interface NodeProcess {
  url: string;
  port: number;
  proc: ChildProcess;
  output: string[];
  dataDir: string;
}

/** Starts a server process; `dataDir` and `port` let a restarted process take over from a killed one. */
export async function startNode(env: Record<string, string>, opts: { dataDir?: string; port?: number } = {}): Promise<NodeProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` before this test`);
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'mccs-node-'));
  const output: string[] = [];
  const proc = spawn(process.execPath, [MAIN], {
    env: { ...process.env, ...env, MCCS_HTTP_PORT: String(port), MCCS_HTTP_HOST: '127.0.0.1', MCCS_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d: Buffer) => output.push(String(d)));
  proc.stderr!.on('data', (d: Buffer) => output.push(String(d)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    if (proc.exitCode !== null) throw new Error(`node exited (${proc.exitCode}):\n${output.join('')}`);
    const ready = await fetch(url + '/readyz').then((r) => r.ok, () => false);
    if (ready) return { url, port, proc, output, dataDir };
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill('SIGKILL');
  throw new Error(`node did not become ready:\n${output.join('')}`);
}

/** kill -9: no shutdown code runs, as in a crash or a power cut. */
export async function killNode(node: NodeProcess): Promise<void> {
  if (node.proc.exitCode !== null || node.proc.signalCode !== null) return;
  const exited = new Promise((r) => node.proc.once('exit', r));
  node.proc.kill('SIGKILL');
  await exited;
}

/** A clean stop (SIGTERM); the data folder is removed unless kept. */
export async function stopNode(node: NodeProcess, opts: { keepData?: boolean } = {}): Promise<void> {
  if (node.proc.exitCode === null && node.proc.signalCode === null) {
    const exited = new Promise((r) => node.proc.once('exit', r));
    node.proc.kill('SIGTERM');
    await exited;
  }
  if (!opts.keepData) rmSync(node.dataDir, { recursive: true, force: true });
}
