// The mails a test server "sent": without an SMTP server configured, mccs writes each mail as a JSON
// file to <data dir>/outbox before the request that caused it is answered.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface OutboxMail {
  to: string;
  subject: string;
  text: string;
  kind: string;
}

/** The mails in the outbox, oldest first. */
export function outbox(dataDir: string): OutboxMail[] {
  const dir = path.join(dataDir, 'outbox');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as OutboxMail);
}

/** The 6-digit code in the newest email-verification mail to `email`. */
export function mailedCode(dataDir: string, email: string): string {
  const mails = outbox(dataDir).filter((m) => m.kind === 'email-verification' && m.to === email);
  const code = /\b(\d{6})\b/.exec(mails.at(-1)?.text ?? '')?.[1];
  if (!code) throw new Error(`no code mailed to ${email}`);
  return code;
}
