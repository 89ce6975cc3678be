// The server's VAPID identity (RFC 8292): the key pair that signs every push request, so push services
// know the sender a browser subscribed to. Subscriptions are bound to the public key: it must outlive
// restarts, so a generated pair is kept in the data folder like the token secret.
import { createECDH } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import webpush from 'web-push';

export interface VapidKeys {
  /** Uncompressed P-256 point, base64url: what browsers pass to PushManager.subscribe. */
  publicKey: string;
  /** Private scalar, base64url. Never logged or sent. */
  privateKey: string;
  /** mailto: or https: contact for push services. */
  subject: string;
}

const FILE = 'vapid-keys.json';

/**
 * The configured pair, or one generated once and kept (0600) in the data folder. Throws when a
 * configured or stored pair does not belong together (subscriptions made with the wrong key never work).
 */
export function resolveVapidKeys(
  configured: { vapidPublicKey: string; vapidPrivateKey: string; vapidSubject: string },
  opts: { dataDir: string; adminEmail: string },
): VapidKeys {
  const subject = configured.vapidSubject || `mailto:${opts.adminEmail}`;
  if (configured.vapidPublicKey && configured.vapidPrivateKey) {
    return checked({ publicKey: configured.vapidPublicKey, privateKey: configured.vapidPrivateKey, subject }, 'MCCS_VAPID_PUBLIC_KEY / MCCS_VAPID_PRIVATE_KEY');
  }
  const file = path.join(opts.dataDir, FILE);
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { publicKey?: unknown; privateKey?: unknown };
    if (typeof stored.publicKey !== 'string' || typeof stored.privateKey !== 'string') throw new Error(`${file}: not a VAPID key pair`);
    return checked({ publicKey: stored.publicKey, privateKey: stored.privateKey, subject }, file);
  }
  mkdirSync(opts.dataDir, { recursive: true });
  const generated = webpush.generateVAPIDKeys();
  writeFileSync(file, JSON.stringify({ publicKey: generated.publicKey, privateKey: generated.privateKey }) + '\n', { mode: 0o600 });
  return { ...generated, subject };
}

function checked(keys: VapidKeys, source: string): VapidKeys {
  let derived: string;
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(keys.privateKey, 'base64url'));
    derived = ecdh.getPublicKey().toString('base64url');
  } catch {
    throw new Error(`${source}: the VAPID private key is not a P-256 key`);
  }
  if (derived !== keys.publicKey) throw new Error(`${source}: the VAPID public key does not belong to the private key`);
  return keys;
}
