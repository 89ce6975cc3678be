import { createHash } from 'node:crypto';
import net from 'node:net';
import winston from 'winston';
import { createDisabledEngine, createJanusEngine } from '../../../media/index.js';
import { backoffDelay } from '../../../media/janus/client.js';
import { splitPortRange } from '../../../media/janus-process.js';

const silent = winston.createLogger({ silent: true });

describe('backoffDelay', () => {
  it('doubles per failure, stays within [ceiling/2, ceiling], and is capped', () => {
    const low = () => 0;
    const high = () => 1;
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, 100, 10_000, high))).toEqual([100, 200, 400, 800]);
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, 100, 10_000, low))).toEqual([50, 100, 200, 400]);
    expect(backoffDelay(50, 100, 10_000, high)).toBe(10_000);
    expect(backoffDelay(5000, 100, 10_000, low)).toBe(5_000);
  });
});

describe('splitPortRange', () => {
  it('gives Janus core and AudioBridge disjoint halves', () => {
    expect(splitPortRange('20000-40000')).toEqual({ core: '20000-30000', audiobridge: '30001-40000' });
  });
  it('keeps a tiny range whole and rejects a reversed one', () => {
    expect(splitPortRange('20000-20001')).toEqual({ core: '20000-20001', audiobridge: '20000-20001' });
    expect(() => splitPortRange('40000-20000')).toThrow(TypeError);
  });
});

describe('media engines without a media server', () => {
  it('the disabled engine says disabled', async () => {
    const engine = createDisabledEngine('MCCS_JANUS=off');
    await expect(engine.health()).resolves.toEqual({ state: 'disabled', detail: 'MCCS_JANUS=off' });
    await engine.close();
  });

  it('the Janus engine reports down (not a rejection) while nothing listens, and closes cleanly', async () => {
    // Port 9 (discard) on loopback: nothing listens there in test environments.
    const engine = createJanusEngine({ wsUrl: 'ws://127.0.0.1:9', logger: silent, retryBaseMs: 20, retryMaxMs: 50 });
    const health = await engine.health();
    expect(health.state).toBe('down');
    expect(['connecting', 'reconnecting']).toContain(engine.connectionState);
    await engine.close();
    await engine.close();
    expect(engine.connectionState).toBe('closed');
  });
});

/**
 * A peer that is slow in a chosen way: 'silent' never answers the HTTP upgrade; 'mute' completes the
 * WebSocket handshake (janus-protocol) and then ignores every request.
 */
async function fakeJanus(kind: 'silent' | 'mute'): Promise<{ url: string; openSockets(): number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (kind === 'silent') return;
    let request = '';
    socket.on('data', (chunk) => {
      if (request.endsWith('\r\n\r\n')) return; // handshake done: ignore every frame
      request += chunk.toString('latin1');
      if (!request.endsWith('\r\n\r\n')) return;
      const key = /sec-websocket-key:\s*(\S+)/i.exec(request)?.[1] ?? '';
      const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: janus-protocol\r\n\r\n`,
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    openSockets: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Waits (bounded) for a connection state; on failure the message shows where the engine got stuck. */
async function waitForState(engine: ReturnType<typeof createJanusEngine>, state: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (engine.connectionState !== state && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (engine.connectionState !== state) {
    throw new Error(`expected ${state}, still ${engine.connectionState}: ${JSON.stringify(await engine.health())}`);
  }
}

describe('Janus engine timeouts', () => {
  it('gives up on a connect that never completes, and keeps retrying', async () => {
    const peer = await fakeJanus('silent');
    const engine = createJanusEngine({ wsUrl: peer.url, logger: silent, connectTimeoutMs: 100, retryBaseMs: 20, retryMaxMs: 50 });
    try {
      await waitForState(engine, 'reconnecting');
      const health = await engine.health();
      expect(health).toMatchObject({ state: 'down' });
      expect(health.detail).toContain('no WebSocket handshake');
    } finally {
      await engine.close();
      await peer.close();
    }
  }, 30_000);

  it('reports down when Janus accepts the connection but does not answer a request', async () => {
    const peer = await fakeJanus('mute');
    const engine = createJanusEngine({ wsUrl: peer.url, logger: silent, requestTimeoutMs: 100, closeTimeoutMs: 100 });
    try {
      await waitForState(engine, 'connected');
      const health = await engine.health();
      expect(health.state).toBe('down');
      expect(health.detail).toContain('no answer from Janus');
      // The peer ignores the close handshake too: close() must still drop the socket itself.
      expect(peer.openSockets()).toBe(1);
      await engine.close();
      // Bound below janode's 10 s ping, which would otherwise notice the dead socket and hide a leak.
      const deadline = Date.now() + 3_000;
      while (peer.openSockets() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(peer.openSockets()).toBe(0);
    } finally {
      await engine.close();
      await peer.close();
    }
  }, 30_000);
});
