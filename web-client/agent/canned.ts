// Canned responses in the agent app, without UI: loading the ones an agent may insert (shared ones of
// the conversation's queue and the agent's own), filling their placeholders, and finding them by
// "/shortcut" or by words of the title.
import type { CannedResponseView } from '../../protocol/canned.js';
import { api } from '../shared/api';

export interface PlaceholderValues {
  customerName: string;
  agentName: string;
  queueName: string;
}

/** Something in braces that looks like a placeholder; the server accepts the same ones (canned/canned-responses.ts). */
const PLACEHOLDER = /\{\s*([A-Za-z_]+)\s*\.\s*([A-Za-z_]+)\s*\}/g;

/** The body with {customer.name}, {agent.name} and {queue.name} filled in; anything else is left as written. */
export function fillPlaceholders(body: string, v: PlaceholderValues): string {
  return body.replace(PLACEHOLDER, (whole, obj: string, field: string) => {
    const key = `${obj.toLowerCase()}.${field.toLowerCase()}`;
    if (key === 'customer.name') return v.customerName;
    if (key === 'agent.name') return v.agentName;
    if (key === 'queue.name') return v.queueName;
    return whole;
  });
}

/** "/" and a (maybe empty) shortcut as the whole draft: the agent is picking a response. */
export function slashQuery(draft: string): string | null {
  const m = /^\/([A-Za-z0-9_-]*)$/.exec(draft);
  return m ? m[1]!.toLowerCase() : null;
}

/** Shortcut matches first (exact, then prefix), then titles and bodies holding every word of the query. */
export function findCanned(list: CannedResponseView[], query: string, opts: { shortcutsOnly?: boolean } = {}): CannedResponseView[] {
  const q = query.trim().toLowerCase();
  if (!q) return opts.shortcutsOnly ? list.filter((r) => r.shortcut) : list;
  const rank = (r: CannedResponseView): number => {
    if (r.shortcut === q) return 0;
    if (r.shortcut?.startsWith(q)) return 1;
    if (opts.shortcutsOnly) return -1;
    const text = `${r.title} ${r.body}`.toLowerCase();
    return q.split(/\s+/).every((w) => text.includes(w)) ? (r.title.toLowerCase().includes(q) ? 2 : 3) : -1;
  };
  return list
    .map((r) => ({ r, rank: rank(r) }))
    .filter((x) => x.rank >= 0)
    .sort((a, b) => a.rank - b.rank)
    .map((x) => x.r);
}

// ---- loading, shared by every open conversation ----------------------------------------------------

type Listener = () => void;
const listeners = new Set<Listener>();
const cache = new Map<string, Promise<CannedResponseView[]>>();

/** The responses for a conversation of `queueId`; one request per queue until something changes. */
export function loadCanned(token: string, queueId: string): Promise<CannedResponseView[]> {
  const key = `${token.slice(-16)}:${queueId}`;
  let p = cache.get(key);
  if (!p) {
    p = api<CannedResponseView[]>('GET', `/api/agent/canned-responses?queueId=${encodeURIComponent(queueId)}`, undefined, token);
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}

/** The agent changed their own responses: every open conversation loads them again. */
export function cannedChanged(): void {
  cache.clear();
  for (const l of listeners) l();
}

export function onCannedChanged(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}
