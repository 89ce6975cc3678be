// Payment webhooks: only a correctly signed, fresh event is booked, and booking it again changes nothing.
import { createHmac } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { openDatabase } from '../../../db/data-source.js';
import { WebhookSignatureError } from '../../../charging/errors.js';
import { LedgerService } from '../../../charging/ledger.js';
import { AdminCreditProvider, HmacWebhookProvider } from '../../../charging/payments.js';
import { WalletService } from '../../../charging/wallets.js';
import { ConflictError } from '../../../charging/errors.js';

const SECRET = 'whsec_0123456789abcdef';
const NOW = 1_732_400_000_000;
const T = NOW / 1000;

function header(body: string, t = T, secret = SECRET): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

describe('HmacWebhookProvider', () => {
  let db: DataSource;
  let ledger: LedgerService;
  let wallets: WalletService;
  let provider: HmacWebhookProvider;

  beforeAll(async () => {
    db = await openDatabase({ kind: 'sqlite', file: ':memory:' });
    ledger = new LedgerService(db, () => NOW);
    wallets = new WalletService(db, () => NOW);
    provider = new HmacWebhookProvider({ id: 'acme', secret: SECRET, ledger, wallets });
  });
  afterAll(async () => db?.destroy());

  const event = (e: object) => JSON.stringify({ id: 'evt_1', type: 'payment.succeeded', customerId: 'c1', amountMinor: 1000, currency: 'EUR', ...e });

  test('a correctly signed event is accepted', () => {
    const body = event({});
    expect(provider.verify(body, header(body), NOW)).toEqual({ id: 'evt_1', type: 'payment.succeeded', customerId: 'c1', amountMinor: 1000, currency: 'EUR' });
    expect(provider.verify(Buffer.from(body), provider.sign(body, T), NOW).id).toBe('evt_1');
    // A second v1 (secret rotation) may precede the right one.
    expect(provider.verify(body, `t=${T},v1=${'0'.repeat(64)},v1=${header(body).split('v1=')[1]}`, NOW).id).toBe('evt_1');
  });

  test('a wrong signature, a wrong secret, a changed body or a missing header is refused', () => {
    const body = event({});
    expect(() => provider.verify(body, header(body, T, 'another-secret-000000'), NOW)).toThrow(WebhookSignatureError);
    expect(() => provider.verify(event({ amountMinor: 999_999 }), header(body), NOW)).toThrow(WebhookSignatureError);
    expect(() => provider.verify(body, undefined, NOW)).toThrow(WebhookSignatureError);
    expect(() => provider.verify(body, 'v1=abc', NOW)).toThrow(WebhookSignatureError);
    expect(() => provider.verify(body, `t=${T},v1=${'g'.repeat(64)}`, NOW)).toThrow(WebhookSignatureError);
  });

  test('a timestamp outside five minutes is refused, either way', () => {
    const body = event({});
    expect(provider.verify(body, header(body, T - 300), NOW).id).toBe('evt_1');
    expect(() => provider.verify(body, header(body, T - 301), NOW)).toThrow(/tolerance/);
    expect(() => provider.verify(body, header(body, T + 301), NOW)).toThrow(/tolerance/);
  });

  test('a signed body that is not a payment event is refused', () => {
    for (const body of ['not json', event({ amountMinor: -1 }), event({ amountMinor: 1.5 }), event({ currency: 'XXX' }), event({ type: 'payment.maybe' })]) {
      expect(() => provider.verify(body, header(body), NOW)).toThrow(/webhook/);
    }
  });

  test('a replayed event is booked once; a refund event takes the money back', async () => {
    const body = event({ id: 'evt_replay', customerId: 'c2' });
    const first = await provider.handle(body, header(body), NOW);
    const again = await provider.handle(body, header(body), NOW);
    expect(again.transaction.id).toBe(first.transaction.id);
    expect((await wallets.get('c2'))?.balanceMinor).toBe(1000);
    expect(await ledger.balance('provider:acme', 'EUR')).toBe(-1000);

    const refund = event({ id: 'evt_refund', type: 'payment.refunded', customerId: 'c2', amountMinor: 400 });
    await provider.handle(refund, header(refund), NOW);
    await provider.handle(refund, header(refund), NOW);
    expect((await wallets.get('c2'))?.balanceMinor).toBe(600);
  });

  test('admin credits are idempotent by the admin key; the same key with another amount is a conflict', async () => {
    const admin = new AdminCreditProvider(ledger, wallets);
    const a = await admin.credit({ customerId: 'c3', amountMinor: 500, currency: 'EUR', idempotencyKey: 'click-0001', adminId: 'adm' });
    const b = await admin.credit({ customerId: 'c3', amountMinor: 500, currency: 'EUR', idempotencyKey: 'click-0001', adminId: 'adm' });
    expect(b.id).toBe(a.id);
    await expect(admin.credit({ customerId: 'c3', amountMinor: 700, currency: 'EUR', idempotencyKey: 'click-0001', adminId: 'adm' })).rejects.toThrow(ConflictError);
    expect((await wallets.get('c3'))?.balanceMinor).toBe(500);
  });
});
