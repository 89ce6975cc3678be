// The customer's earlier conversations with us, once we know who they are (their email confirmed):
// when, the topic, who answered, and what was written. Agents appear by display name only.
import { useEffect, useState } from 'preact/hooks';
import type { CustomerHistoryView } from '../../protocol/context.js';
import { api, describeError } from '../shared/api';
import { Notice, formatTime } from '../shared/ui';

export function EarlierConversations(props: { token: string; exceptTaskId: string | null; reloadKey: number }) {
  const [history, setHistory] = useState<CustomerHistoryView | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api<CustomerHistoryView>('GET', '/api/me/conversations', undefined, props.token)
      .then((h) => {
        setHistory(h);
        setError(null);
      })
      .catch((err: unknown) => setError(describeError(err)));
  }, [props.token, props.reloadKey]);

  if (error) return <Notice kind="error">Could not load your earlier conversations: {error}</Notice>;
  const earlier = history?.conversations.filter((c) => c.taskId !== props.exceptTaskId) ?? [];
  if (!history || earlier.length === 0) return null;
  return (
    <section class="card card--inset" data-testid="widget-history" aria-labelledby="w-history-title">
      <h3 id="w-history-title">Your earlier conversations</h3>
      <ul class="small">
        {earlier.map((c) => (
          <li key={c.taskId} data-testid="widget-history-item">
            <details>
              <summary>
                {new Date(c.enqueuedAt).toLocaleDateString()} {formatTime(c.enqueuedAt)} · {c.queueName}
                {c.agentName ? ` · with ${c.agentName}` : ''}
              </summary>
              <ul>
                {c.messages
                  .filter((m) => m.sender !== 'system')
                  .map((m, i) => (
                    <li key={i}>
                      <strong>{m.sender === 'customer' ? 'You' : m.senderName}:</strong> {m.body}
                    </li>
                  ))}
              </ul>
            </details>
          </li>
        ))}
      </ul>
    </section>
  );
}
