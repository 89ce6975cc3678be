// A local push service (RFC 8030) for tests: an HTTP server that records each POSTed message, and a
// browser's side of a subscription (a P-256 key pair and an auth secret) that decrypts them (RFC 8291,
// aes128gcm, written out here with node:crypto so the server's encryption is checked independently).
import { createECDH, createDecipheriv, hkdfSync, randomBytes, type ECDH } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { importJWK, jwtVerify, type JWTPayload } from 'jose';

export interface PushedMessage {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface PushEndpoint {
  /** http://127.0.0.1:port */
  origin: string;
  received: PushedMessage[];
  /** Status the next requests are answered with (201 Created by default). */
  respondWith(status: number): void;
  /** Resolves with the next message (or one already received and not yet taken). */
  next(ms?: number): Promise<PushedMessage>;
  close(): Promise<void>;
}

export async function startPushEndpoint(): Promise<PushEndpoint> {
  const received: PushedMessage[] = [];
  let taken = 0;
  let status = 201;
  const waiters: Array<() => void> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(status).end();
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    received,
    respondWith: (s) => void (status = s),
    next: (ms = 10_000) =>
      new Promise((resolve, reject) => {
        const take = () => {
          if (received.length <= taken) return false;
          resolve(received[taken++]!);
          return true;
        };
        if (take()) return;
        const timer = setTimeout(() => reject(new Error(`no push message within ${ms} ms`)), ms);
        const waiter = () => {
          if (take()) clearTimeout(timer);
          else waiters.push(waiter);
        };
        waiters.push(waiter);
      }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The browser's half of a subscription: what PushSubscription.toJSON().keys holds, and the private key. */
export interface BrowserKeys {
  ecdh: ECDH;
  p256dh: string;
  auth: string;
}

export function browserKeys(): BrowserKeys {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { ecdh, p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') };
}

/** Decrypts an aes128gcm message body (RFC 8188 framing, RFC 8291 keys) with the browser's keys. */
export function decryptAes128gcm(body: Buffer, keys: BrowserKeys): string {
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20]!;
  const senderPublic = body.subarray(21, 21 + idLength);
  const ciphertext = body.subarray(21 + idLength);
  if (ciphertext.length > recordSize) throw new Error('more than one record: not expected for a small payload');

  const receiverPublic = keys.ecdh.getPublicKey();
  const shared = keys.ecdh.computeSecret(senderPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), receiverPublic, senderPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', shared, Buffer.from(keys.auth, 'base64url'), keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));

  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  // The last record ends with the delimiter 0x02, then zero padding.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('no last-record delimiter');
  return padded.subarray(0, end).toString('utf8');
}

/**
 * Checks a VAPID Authorization header (`vapid t=<JWT>, k=<public key>`, RFC 8292): the key is the
 * server's, the ES256 signature holds, the audience is the push service's origin. Returns the claims.
 */
export async function verifyVapid(header: string | undefined, serverPublicKey: string, audience: string): Promise<JWTPayload> {
  const m = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header ?? '');
  if (!m) throw new Error(`not a VAPID Authorization header: ${header}`);
  if (m[2] !== serverPublicKey) throw new Error('VAPID header names another key');
  const raw = Buffer.from(serverPublicKey, 'base64url');
  const key = await importJWK(
    { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33, 65).toString('base64url') },
    'ES256',
  );
  const { payload } = await jwtVerify(m[1]!, key, { audience, algorithms: ['ES256'] });
  return payload;
}
