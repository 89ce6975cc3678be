// Runs SIPp (Debian package sip-tester) as the far end of a SIP test: one call of a scenario file
// from test/sip (uac-*: SIPp calls us; uas-*: SIPp answers what we send), in a scratch folder
// (where a scenario finds tone.wav for rtp_stream), with the SIP messages it saw kept for assertions.
import { execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SIPP_SCENARIOS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'sip');

/** Writes tone.wav into `workDir`: what a scenario streams as the caller's voice (3 s of 440 Hz, G.711 µ-law). */
export function writeCallerTone(workDir: string): void {
  execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-e', 'u-law', path.join(workDir, 'tone.wav'), 'synth', '3', 'sine', '440', 'vol', '0.5']);
}

export interface SippRun {
  code: number | null;
  /** SIPp's message log (every message sent and received, -trace_msg). */
  messages: string;
  stderr: string;
}

export interface SippOptions {
  scenario: string;
  /** Folder for logs and scenario copies; tone.wav lives here. */
  workDir: string;
  /** Whom SIPp calls; none for a uas-* scenario (SIPp waits for our requests). */
  target?: { host: string; port: number };
  localIp?: string;
  sipPort: number;
  mediaPort: number;
  service?: string;
  /** Placeholders in the scenario text (templates such as uac-refused.xml). */
  replace?: Record<string, string>;
  extraArgs?: string[];
  timeoutS?: number;
  /** Calls (transactions for REGISTER/OPTIONS scenarios) to run before SIPp exits. Default 1. */
  calls?: number;
}

export async function runSipp(o: SippOptions): Promise<SippRun> {
  let scenario = path.join(SIPP_SCENARIOS, o.scenario);
  if (o.replace) {
    let text = await readFile(scenario, 'utf8');
    for (const [k, v] of Object.entries(o.replace)) text = text.split(k).join(v);
    scenario = path.join(o.workDir, `${o.sipPort}-${o.scenario}`);
    await writeFile(scenario, text);
  }
  const messageFile = sippMessageFile(o);
  const args = [
    ...(o.target ? [`${o.target.host}:${o.target.port}`] : []),
    '-sf', scenario,
    '-m', String(o.calls ?? 1),
    '-l', '1',
    '-i', o.localIp ?? '127.0.0.1',
    '-mi', o.localIp ?? '127.0.0.1',
    '-p', String(o.sipPort),
    '-mp', String(o.mediaPort),
    '-s', o.service ?? '+4930555',
    '-timeout', `${o.timeoutS ?? 20}s`,
    '-timeout_error',
    '-nostdin',
    '-trace_msg', '-message_file', messageFile,
    ...(o.extraArgs ?? []),
  ];
  const child = spawn('sipp', args, { cwd: o.workDir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const messages = await readFile(messageFile, 'utf8').catch(() => '');
  return { code, messages, stderr };
}

/** Where a run logs the SIP messages it sees (-trace_msg); readable while SIPp still runs. */
export function sippMessageFile(o: Pick<SippOptions, 'workDir' | 'sipPort'>): string {
  return path.join(o.workDir, `${o.sipPort}-messages.log`);
}

/** Resolves once a SIPp UAS has bound its SIP port (UDP), so requests sent to it are not lost. */
export async function sippListening(port: number, host = '127.0.0.1', limitMs = 5000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const bound = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.once('error', () => resolve(true));
      s.bind(port, host, () => s.close(() => resolve(false)));
    });
    if (bound) return;
    if (Date.now() > deadline) throw new Error(`SIPp did not bind ${host}:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
