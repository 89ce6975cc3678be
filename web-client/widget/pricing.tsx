// Prices before connecting: a charged topic shows what a chat and a call cost, the customer's balance,
// and asks the customer to agree; the agreement (at most the quoted maximum per minute) goes with the
// start, and the server refuses a charged start without it (PRICE_NOT_ACCEPTED).
import { useEffect, useState } from 'preact/hooks';
import type { QuoteView, WalletView } from '../../protocol/charging.js';
import { api, describeError } from '../shared/api';
import { describePrice, formatMoney } from '../shared/money';

export type QuoteChannel = 'chat' | 'call' | 'video';
const CHANNELS: QuoteChannel[] = ['chat', 'call', 'video'];
const LABEL: Record<QuoteChannel, string> = { chat: 'Chat', call: 'Audio call', video: 'Video call' };

export interface Pricing {
  quotes: Partial<Record<QuoteChannel, QuoteView>>;
  wallet: WalletView | null;
  agreed: boolean;
  setAgreed(v: boolean): void;
  /** Whether any channel of the topic is charged (the agreement is then needed). */
  charged: boolean;
  /** The agreement to send with a start on `channel`; undefined for a free channel. */
  agreementFor(channel: QuoteChannel): { maxPerMinuteMinor: number; currency: string } | undefined;
  error: string | null;
  reloadWallet(): void;
}

export function usePricing(queueId: string, token: string | null): Pricing {
  const [quotes, setQuotes] = useState<Partial<Record<QuoteChannel, QuoteView>>>({});
  const [wallet, setWallet] = useState<WalletView | null>(null);
  const [agreed, setAgreed] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [walletTick, setWalletTick] = useState(0);

  useEffect(() => {
    setQuotes({});
    setAgreed(false);
    if (!queueId) return;
    let live = true;
    Promise.all(CHANNELS.map((c) => api<QuoteView>('GET', `/api/queues/${encodeURIComponent(queueId)}/quote?channel=${c}`)))
      .then((list) => {
        if (!live) return;
        setQuotes(Object.fromEntries(list.map((q) => [q.channel, q])) as Partial<Record<QuoteChannel, QuoteView>>);
        setError(null);
      })
      .catch((err: unknown) => live && setError(describeError(err)));
    return () => {
      live = false;
    };
  }, [queueId]);

  useEffect(() => {
    if (!token) return;
    api<WalletView>('GET', '/api/wallet', undefined, token)
      .then(setWallet)
      .catch(() => setWallet(null));
  }, [token, walletTick]);

  const charged = CHANNELS.some((c) => quotes[c]?.charged);
  return {
    quotes,
    wallet,
    agreed,
    setAgreed,
    charged,
    error,
    reloadWallet: () => setWalletTick((n) => n + 1),
    agreementFor(channel) {
      const q = quotes[channel];
      if (!q?.charged || !agreed || q.maxPerMinuteMinor === undefined || !q.currency) return undefined;
      return { maxPerMinuteMinor: q.maxPerMinuteMinor, currency: q.currency };
    },
  };
}

/** The prices of the chosen topic and the agreement checkbox; nothing for a free topic. */
export function PricePanel(props: { pricing: Pricing }) {
  const { quotes, wallet, agreed, setAgreed, charged, error } = props.pricing;
  if (error) return <p class="muted small">Prices could not be loaded: {error}</p>;
  if (!charged) return null;
  return (
    <div class="card card--inset" data-testid="widget-prices">
      <p class="small" style={{ margin: 0 }}>
        <strong>This topic is charged</strong> for the time you are connected to an expert:
      </p>
      <ul class="small" style={{ margin: '0.3rem 0' }}>
        {CHANNELS.map((c) => {
          const q = quotes[c];
          if (!q) return null;
          if (!q.charged || q.currency === undefined || q.perMinuteMinor === undefined) {
            return <li key={c}>{LABEL[c]}: free</li>;
          }
          const range =
            q.minPerMinuteMinor !== undefined && q.maxPerMinuteMinor !== undefined && q.minPerMinuteMinor !== q.maxPerMinuteMinor
              ? ` (experts ask ${formatMoney(q.minPerMinuteMinor, q.currency)} to ${formatMoney(q.maxPerMinuteMinor, q.currency)}/min)`
              : '';
          const free = q.freeSeconds ? `, first ${q.freeSeconds} s free` : '';
          return (
            <li key={c} data-testid={`widget-price-${c}`}>
              {LABEL[c]}: {describePrice({ perMinuteMinor: q.perMinuteMinor, sessionFeeMinor: q.sessionFeeMinor, currency: q.currency })}
              {range}
              {free}
            </li>
          );
        })}
      </ul>
      {wallet && (
        <p class="small" data-testid="widget-balance" style={{ margin: '0.3rem 0' }}>
          Your balance: {formatMoney(wallet.availableMinor, wallet.currency)}
        </p>
      )}
      <label class="row small">
        <input type="checkbox" checked={agreed} onChange={(e) => setAgreed(e.currentTarget.checked)} data-testid="widget-agree-price" />
        <span>I agree to pay these prices, at most the highest one per minute; the conversation stops when my balance runs out.</span>
      </label>
    </div>
  );
}
