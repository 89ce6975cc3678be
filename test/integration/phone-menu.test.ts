// The topic menu of a trunk: after the greeting the caller hears the menu and presses a digit (SIP
// INFO); the call then waits in the chosen queue. SIPp presses 2 (technical); the agent is offered
// the call in that queue and its hang-up BYEs the caller. Real Janus on loopback.
import { adminToken, createAgent, type TestServer } from '../support/server.js';
import { startPhoneServer, type PhoneServer } from '../support/phone-server.js';
import { call, connect, next, type AgentSocket } from '../support/sockets.js';
import { runSipp } from '../support/sipp.js';
import type { Offer } from '../../protocol/events.js';
import { freePort } from '../support/ports.js';

let bed: PhoneServer;
let server: TestServer;
let workDir: string;
let sipPort: number;


beforeAll(async () => {
  bed = await startPhoneServer({
    prefix: 'mccs-menu-',
    janusRtpPorts: '26000-26999',
    trunks: [{ id: 'menu-trunk', allow: ['127.0.0.1/32'], queueId: 'general', menu: { '1': 'billing', '2': 'technical' } }],
  });
  ({ server, workDir, sipPort } = bed);
}, 60_000);

afterAll(() => bed?.close());

// The digit cuts the menu short: the call is offered in the queue it chose.
test.each([
  ['in the menu', 'uac-menu-2.xml'],
  ['as an RFC 4733 telephone-event (through the RTP relay)', 'uac-menu-2-rfc4733.xml'],
])('the caller presses 2 %s and waits in the technical queue', async (_how, scenario) => {
  const admin = await adminToken(server.url);
  const a = await createAgent(server.url, admin, { displayName: `Tess ${scenario}` });
  const agent = await connect<AgentSocket>(server.url, '/agent', a.token);
  try {
    await next(agent, 'hello');
    await call(agent, 'presence:set', { state: 'ready' });
    const logsBefore = server.logs.length;
    const sipp = runSipp({ scenario, workDir, target: { host: '127.0.0.1', port: sipPort }, sipPort: await freePort(), mediaPort: await freePort(), timeoutS: 40 });
    const offer = await next<Offer>(agent, 'offer', () => true, 30_000);
    expect(offer).toMatchObject({ channel: 'call', queue: { id: 'technical' } });
    expect(server.logs.slice(logsBefore).some((l) => l.includes('"topic chosen"') && l.includes('"byDigit":true'))).toBe(true);
    await call(agent, 'offer:accept', { taskId: offer.taskId });
    await call(agent, 'media:hangup', { taskId: offer.taskId });
    expect((await sipp).code).toBe(0);
  } finally {
    agent.close();
  }
}, 60_000);
