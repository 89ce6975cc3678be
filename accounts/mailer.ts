// Outgoing mail. There is no mail server: the default Mailer writes each message as a JSON file in the
// data folder's outbox/ (docs/agents.md), for an operator or a relay to pick up, and logs only that a
// message was written, never its text (a password-reset link is a secret).
import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../lib/logger.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** What the message is for (e.g. `password-reset`), for logs and for whoever reads the outbox. */
  kind: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

export class OutboxMailer implements Mailer {
  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
  ) {}

  async send(message: MailMessage): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.dir, `${Date.now()}-${randomUUID()}.json`);
    // Written aside and renamed into place, so whoever reads the outbox never sees half a message.
    const partial = path.join(this.dir, `.${path.basename(file)}.partial`);
    await writeFile(partial, JSON.stringify({ ...message, at: new Date().toISOString() }, null, 2) + '\n', { mode: 0o600 });
    await rename(partial, file);
    this.logger.info('mail written to the outbox', { kind: message.kind, file: path.basename(file) });
  }
}
