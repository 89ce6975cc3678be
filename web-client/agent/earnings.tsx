// The agent's own price and earnings: what customers pay per minute to talk to this agent (within each
// topic's bounds), what the agent earned in a period (sessions, billed time, gross, own share), and the
// history behind it: each paid session, refund and payout on the agent's statement.
import { useEffect, useState } from 'preact/hooks';
import { api, describeError } from '../shared/api';
import { formatMoney } from '../shared/money';
import { Notice } from '../shared/ui';

/** GET /api/agent/earnings: one line per currency. */
export interface EarningsReply {
  from: number;
  to: number;
  pricePerMinuteMinor: number | null;
  totals: Array<{ currency: string; sessions: number; billedSeconds: number; grossMinor: number; agentShareMinor: number; refundsMinor: number }>;
  payableMinor: Array<{ currency: string; amountMinor: number }>;
}

/** GET /api/agent/statement: the agent's payable account, one statement per currency. */
interface StatementReply {
  currency: string;
  lines: Array<{ at: number; transactionId: string; kind: string; sessionId: string | null; amountMinor: number }>;
}

interface HistoryLine {
  at: number;
  transactionId: string;
  kind: string;
  sessionId: string | null;
  amountMinor: number;
  currency: string;
}

const KIND_LABEL: Record<string, string> = { charge: 'Paid session', refund: 'Refund to the customer', reversal: 'Correction', payout: 'Paid out to you', adjustment: 'Adjustment' };
/** The history shows the latest lines; older ones stay on the statement. */
const HISTORY_LINES = 20;

function monthStart(now = new Date()): number {
  return new Date(now.getFullYear(), now.getMonth(), 1).getTime();
}

export function EarningsCard(props: { token: string; refreshKey: number }) {
  const [data, setData] = useState<EarningsReply | null>(null);
  const [history, setHistory] = useState<HistoryLine[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [price, setPrice] = useState('');
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);

  useEffect(() => {
    const period = `from=${monthStart()}&to=${Date.now() + 60_000}`;
    api<EarningsReply>('GET', `/api/agent/earnings?${period}`, undefined, props.token)
      .then((d) => {
        setData(d);
        setError(null);
        setPrice((p) => (p === '' && d.pricePerMinuteMinor !== null ? String(d.pricePerMinuteMinor) : p));
      })
      .catch((err: unknown) => setError(describeError(err)));
    api<StatementReply[]>('GET', `/api/agent/statement?${period}`, undefined, props.token)
      .then((statements) =>
        setHistory(
          statements
            .flatMap((s) => s.lines.map((l) => ({ ...l, currency: s.currency })))
            .sort((a, b) => b.at - a.at)
            .slice(0, HISTORY_LINES),
        ),
      )
      .catch((err: unknown) => setError(describeError(err)));
  }, [props.token, props.refreshKey]);

  async function savePrice(e: Event) {
    e.preventDefault();
    const text = price.trim();
    const value = text === '' ? null : Number(text);
    if (value !== null && (!Number.isInteger(value) || value < 0)) {
      setError('The price is a whole number of cents per minute, or empty for the topic’s price.');
      return;
    }
    setSaving(true);
    setSaved(null);
    try {
      await api('PUT', '/api/agent/price', { pricePerMinuteMinor: value }, props.token);
      setSaved(value === null ? 'You now charge each topic’s own price.' : 'Your price is saved.');
      setError(null);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setSaving(false);
    }
  }

  return (
    <section class="card" aria-labelledby="earnings-title" data-testid="agent-earnings">
      <h2 id="earnings-title">Earnings this month</h2>
      {error && (
        <Notice kind="error" onDismiss={() => setError(null)}>
          {error}
        </Notice>
      )}
      {!data && !error && <p class="muted small">Loading…</p>}
      {data && data.totals.length === 0 && <p class="muted small">No paid sessions yet this month.</p>}
      {data?.totals.map((t) => (
        <dl class="small" key={t.currency} data-testid={`agent-earnings-${t.currency}`}>
          <dt>Paid sessions</dt>
          <dd data-testid="agent-earnings-sessions">{t.sessions}</dd>
          <dt>Billed time</dt>
          <dd>{Math.floor(t.billedSeconds / 60)} min {t.billedSeconds % 60} s</dd>
          <dt>Customers paid</dt>
          <dd>{formatMoney(t.grossMinor, t.currency)}</dd>
          <dt>Your share</dt>
          <dd data-testid="agent-earnings-share">{formatMoney(t.agentShareMinor, t.currency)}</dd>
          {t.refundsMinor > 0 && (
            <>
              <dt>Refunded</dt>
              <dd>{formatMoney(t.refundsMinor, t.currency)}</dd>
            </>
          )}
        </dl>
      ))}
      {data?.payableMinor.map((p) => (
        <p class="small" key={p.currency} data-testid="agent-payable">
          Due to you (not yet paid out): <strong>{formatMoney(p.amountMinor, p.currency)}</strong>
        </p>
      ))}
      {history && history.length > 0 && (
        <>
          <h3 class="small">History</h3>
          <ol class="small earnings-history" data-testid="agent-earnings-history">
            {history.map((l) => (
              <li key={l.transactionId} data-testid="agent-history-line" data-kind={l.kind} data-session-id={l.sessionId ?? undefined}>
                <time dateTime={new Date(l.at).toISOString()}>{new Date(l.at).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' })}</time>{' '}
                <span>{KIND_LABEL[l.kind] ?? l.kind}</span>{' '}
                <strong data-testid="agent-history-amount">
                  {l.amountMinor > 0 ? '+' : ''}
                  {formatMoney(l.amountMinor, l.currency)}
                </strong>
              </li>
            ))}
          </ol>
        </>
      )}
      <form class="row" onSubmit={(e) => void savePrice(e)}>
        <label for="agent-price" class="small">
          My price (cents per minute)
        </label>
        <input
          id="agent-price"
          type="number"
          min={0}
          step={1}
          inputMode="numeric"
          value={price}
          placeholder="topic price"
          onInput={(e) => setPrice(e.currentTarget.value)}
          style={{ width: '7rem' }}
          data-testid="agent-price"
        />
        <button type="submit" class="secondary" disabled={saving} data-testid="agent-price-save">
          {saving ? 'Saving…' : 'Save'}
        </button>
      </form>
      {saved && <p class="muted small">{saved}</p>}
    </section>
  );
}
