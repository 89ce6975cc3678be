// Free ports for servers a test starts (Janus, the SIP bridge, SIPp): free for TCP and for UDP on
// 127.0.0.1, since SIP and RTP use both. Another process may still take one before it is used; tests
// pass the port on at once.
import dgram from 'node:dgram';
import net from 'node:net';

export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as net.AddressInfo;
        server.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

/** Two different free ports (a port just released may be handed out again). */
export async function freePortPair(): Promise<[number, number]> {
  const first = await freePort();
  let second = await freePort();
  while (second === first) second = await freePort();
  return [first, second];
}
