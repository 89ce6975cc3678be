// mccs for the phone tests: Janus (auto) and the SIP bridge on free loopback ports, the media up, and a
// scratch folder holding the caller's tone for SIPp and, when given, the trunks file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { adminToken, startTestServer, waitForMedia, type TestServer } from './server.js';
import { writeCallerTone } from './sipp.js';

export interface PhoneServer {
  server: TestServer;
  admin: string;
  /** SIPp's folder (tone.wav, logs); removed by close(). */
  workDir: string;
  /** The SIP bridge's port. */
  sipPort: number;
  close(): Promise<void>;
}

export async function startPhoneServer(opts: {
  /** Of the scratch folder's name. */
  prefix: string;
  /** Janus's RTP ports: a range of its own per test file. */
  janusRtpPorts: string;
  /** Written to trunks.json, the server's MCCS_SIP_TRUNKS_FILE. */
  trunks?: unknown[];
  /** The SIP bridge's port when the test has chosen it (default: a free one). */
  sipPort?: number;
  env?: Record<string, string>;
}): Promise<PhoneServer> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), opts.prefix));
  writeCallerTone(workDir);
  const trunksFile = path.join(workDir, 'trunks.json');
  if (opts.trunks) writeFileSync(trunksFile, JSON.stringify(opts.trunks));
  const sipPort = opts.sipPort ?? (await freePort());
  const server = await startTestServer({
    MCCS_JANUS: 'auto',
    MCCS_JANUS_WS_PORT: String(await freePort()),
    MCCS_JANUS_RTP_PORTS: opts.janusRtpPorts,
    MCCS_SIP_PORT: String(sipPort),
    ...(opts.trunks ? { MCCS_SIP_TRUNKS_FILE: trunksFile } : {}),
    ...opts.env,
  });
  const admin = await adminToken(server.url);
  await waitForMedia(server.url);
  return {
    server,
    admin,
    workDir,
    sipPort,
    async close() {
      await server.close();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
