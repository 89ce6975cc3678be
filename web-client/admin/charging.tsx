// Charging for admins: rate plans per topic and channel, crediting a customer's wallet, the revenue
// report of a period, and call detail records as CSV or JSON.
import { useEffect, useState } from 'preact/hooks';
import type { RatePlanBody } from '../../protocol/charging.js';
import type { QueueView } from '../../protocol/http.js';
import { ApiError, api, describeError } from '../shared/api';
import { formatMoney } from '../shared/money';
import { ItemTable, Notice } from '../shared/ui';

/** GET /api/admin/rate-plans item. */
export interface RatePlanView extends Required<Omit<RatePlanBody, 'agentPriceMinMinor' | 'agentPriceMaxMinor'>> {
  id: string;
  agentPriceMinMinor: number | null;
  agentPriceMaxMinor: number | null;
}

export interface RevenueLine {
  currency: string;
  sessions: number;
  grossMinor: number;
  agentShareMinor: number;
  platformMinor: number;
  taxMinor: number;
  refundsMinor: number;
}
/** GET /api/admin/revenue. */
export interface RevenueReply {
  from: number;
  to: number;
  totals: RevenueLine[];
  byQueue: Array<RevenueLine & { queueId: string }>;
  byAgent: Array<RevenueLine & { agentId: string; displayName: string }>;
}

function monthStart(): number {
  const now = new Date();
  return new Date(now.getFullYear(), now.getMonth(), 1).getTime();
}

export function ChargingSection(props: { token: string; queues: QueueView[] | null; onError: (err: unknown, what: string) => void; refreshKey?: number }) {
  const [plans, setPlans] = useState<RatePlanView[] | null>(null);
  const [revenue, setRevenue] = useState<RevenueReply | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    api<RatePlanView[]>('GET', '/api/admin/rate-plans', undefined, props.token)
      .then(setPlans)
      .catch((err: unknown) => props.onError(err, 'Could not load the rate plans'));
    api<RevenueReply>('GET', `/api/admin/revenue?from=${monthStart()}&to=${Date.now() + 60_000}`, undefined, props.token)
      .then(setRevenue)
      .catch((err: unknown) => props.onError(err, 'Could not load the revenue report'));
  }, [props.token, tick, props.refreshKey]);

  return (
    <section class="card" aria-labelledby="charging-title" data-testid="admin-charging">
      <h2 id="charging-title">Charging</h2>
      <h3>Rate plans</h3>
      <ItemTable testId="admin-rate-plans" columns={['Topic', 'Channel', 'Price/min', 'Session fee', 'Free', 'Increments', 'Agent price range', 'Agent share']} placeholder={plans?.length === 0 && 'No rate plans: every topic is free.'}>
        {plans?.map((p) => (
          <tr key={p.id}>
            <td>{p.queueId}</td>
            <td>{p.channel}</td>
            <td>{formatMoney(p.perMinuteMinor, p.currency)}</td>
            <td>{formatMoney(p.sessionFeeMinor, p.currency)}</td>
            <td>{p.freeSeconds} s</td>
            <td>
              {p.firstIncrementSeconds}/{p.nextIncrementSeconds}
            </td>
            <td>
              {p.agentPriceMinMinor === null ? '—' : formatMoney(p.agentPriceMinMinor, p.currency)} to{' '}
              {p.agentPriceMaxMinor === null ? '—' : formatMoney(p.agentPriceMaxMinor, p.currency)}
            </td>
            <td>{p.revenueShareBps / 100} %</td>
          </tr>
        ))}
      </ItemTable>
      <RatePlanForm token={props.token} queues={props.queues} onSaved={() => setTick((t) => t + 1)} />
      <CreditForm token={props.token} onDone={() => setTick((t) => t + 1)} />
      <h3>Revenue this month</h3>
      {revenue && revenue.totals.length === 0 && <p class="muted small">No charged sessions yet.</p>}
      {revenue && revenue.totals.length > 0 && (
        <ItemTable testId="admin-revenue" columns={['Currency', 'Sessions', 'Customers paid', 'Agents', 'Platform', 'Tax', 'Refunds']}>
          {revenue.totals.map((t) => (
            <tr key={t.currency}>
              <td>{t.currency}</td>
              <td>{t.sessions}</td>
              <td>{formatMoney(t.grossMinor, t.currency)}</td>
              <td>{formatMoney(t.agentShareMinor, t.currency)}</td>
              <td>{formatMoney(t.platformMinor, t.currency)}</td>
              <td>{formatMoney(t.taxMinor, t.currency)}</td>
              <td>{formatMoney(t.refundsMinor, t.currency)}</td>
            </tr>
          ))}
        </ItemTable>
      )}
      <p class="row small">
        Call detail records of this month:
        <button type="button" class="secondary" onClick={() => void download(props.token, 'csv')} data-testid="admin-cdr-csv">
          CSV
        </button>
        <button type="button" class="secondary" onClick={() => void download(props.token, 'json')}>
          JSON
        </button>
      </p>
    </section>
  );
}

/** The export needs the bearer token, so it is fetched and handed to the browser as a file. */
async function download(token: string, format: 'csv' | 'json'): Promise<void> {
  const res = await fetch(`/api/admin/cdrs?format=${format}&from=${monthStart()}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) return;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = `mccs-cdrs.${format}`;
  a.click();
  URL.revokeObjectURL(url);
}

function RatePlanForm(props: { token: string; queues: QueueView[] | null; onSaved: () => void }) {
  const [queueId, setQueueId] = useState('');
  const [channel, setChannel] = useState<RatePlanBody['channel']>('chat');
  const [currency, setCurrency] = useState('EUR');
  const [perMinute, setPerMinute] = useState('100');
  const [fee, setFee] = useState('0');
  const [free, setFree] = useState('0');
  const [increments, setIncrements] = useState('60/60');
  const [range, setRange] = useState('');
  const [share, setShare] = useState('70');
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);

  async function save(e: Event) {
    e.preventDefault();
    const [first, next] = increments.split('/').map((x) => Number(x.trim()));
    const [min, max] = range.split('-').map((x) => (x.trim() === '' ? null : Number(x.trim())));
    const body: RatePlanBody = {
      queueId,
      channel,
      currency: currency.trim().toUpperCase(),
      perMinuteMinor: Number(perMinute),
      sessionFeeMinor: Number(fee),
      freeSeconds: Number(free),
      firstIncrementSeconds: first ?? 60,
      nextIncrementSeconds: next ?? first ?? 60,
      // An empty bound is null: no bound on that side.
      agentPriceMinMinor: min ?? null,
      agentPriceMaxMinor: max ?? null,
      revenueShareBps: Math.round(Number(share) * 100),
    };
    try {
      await api('PUT', '/api/admin/rate-plans', body, props.token);
      setMessage({ kind: 'ok', text: `Rate plan for ${queueId} (${channel}) saved.` });
      props.onSaved();
    } catch (err) {
      setMessage({ kind: 'error', text: describeError(err) });
    }
  }

  return (
    <form class="grid-form" onSubmit={(e) => void save(e)} data-testid="admin-rate-plan-form">
      <label>
        Topic
        <select value={queueId} onChange={(e) => setQueueId(e.currentTarget.value)} required>
          <option value="">Choose…</option>
          {props.queues?.map((q) => (
            <option key={q.id} value={q.id}>
              {q.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Channel
        <select value={channel} onChange={(e) => setChannel(e.currentTarget.value as RatePlanBody['channel'])}>
          <option value="chat">chat</option>
          <option value="call">audio call</option>
          <option value="video">video call</option>
        </select>
      </label>
      <label>
        Currency
        <input value={currency} maxLength={3} onInput={(e) => setCurrency(e.currentTarget.value)} required />
      </label>
      <label>
        Price per minute (minor units)
        <input type="number" min={0} value={perMinute} onInput={(e) => setPerMinute(e.currentTarget.value)} required />
      </label>
      <label>
        Session fee (minor units)
        <input type="number" min={0} value={fee} onInput={(e) => setFee(e.currentTarget.value)} />
      </label>
      <label>
        Free seconds
        <input type="number" min={0} value={free} onInput={(e) => setFree(e.currentTarget.value)} />
      </label>
      <label>
        Increments (first/next seconds)
        <input value={increments} pattern="[0-9]+/[0-9]+" onInput={(e) => setIncrements(e.currentTarget.value)} />
      </label>
      <label>
        Agent price range (min-max, empty for none)
        <input value={range} placeholder="50-300" onInput={(e) => setRange(e.currentTarget.value)} />
      </label>
      <label>
        Agent share (%)
        <input type="number" min={0} max={100} step="0.01" value={share} onInput={(e) => setShare(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled={!queueId}>
        Save rate plan
      </button>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
    </form>
  );
}

function CreditForm(props: { token: string; onDone: () => void }) {
  const [customerId, setCustomerId] = useState('');
  const [amount, setAmount] = useState('');
  const [currency, setCurrency] = useState('EUR');
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [key, setKey] = useState(() => `credit-${crypto.randomUUID()}`);

  async function credit(e: Event) {
    e.preventDefault();
    try {
      const wallet = await api<{ balanceMinor: number; currency: string }>(
        'POST',
        `/api/admin/customers/${encodeURIComponent(customerId.trim())}/credit`,
        { amountMinor: Number(amount), currency: currency.trim().toUpperCase(), idempotencyKey: key },
        props.token,
      );
      setMessage({ kind: 'ok', text: `Credited. Balance now ${formatMoney(wallet.balanceMinor, wallet.currency)}.` });
      setKey(`credit-${crypto.randomUUID()}`);
      props.onDone();
    } catch (err) {
      setMessage({ kind: 'error', text: err instanceof ApiError ? `${err.message} (${err.code})` : describeError(err) });
    }
  }

  return (
    <form class="grid-form" onSubmit={(e) => void credit(e)} data-testid="admin-credit-form">
      <h3>Credit a customer</h3>
      <label>
        Customer id
        <input value={customerId} onInput={(e) => setCustomerId(e.currentTarget.value)} required />
      </label>
      <label>
        Amount (minor units)
        <input type="number" min={1} value={amount} onInput={(e) => setAmount(e.currentTarget.value)} required />
      </label>
      <label>
        Currency
        <input value={currency} maxLength={3} onInput={(e) => setCurrency(e.currentTarget.value)} required />
      </label>
      <button type="submit">Credit</button>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
    </form>
  );
}
