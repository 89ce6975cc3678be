// Shared canned responses for admins: replies every agent can insert in chats (in every queue, or in
// one queue's conversations), with an optional "/" shortcut and placeholders the agent app fills in.
import { useEffect } from 'preact/hooks';
import type { QueueView } from '../../protocol/http.js';
import { CannedForm, CannedRowActions, useCannedEditor } from '../shared/canned-editor';
import { Field, ItemTable } from '../shared/ui';

const FAILED = { load: 'Could not load the canned responses', save: 'The canned response was not saved', delete: 'Could not delete the canned response' };

export function CannedSection(props: { token: string; queues: QueueView[] | null; onError: (err: unknown, what: string) => void }) {
  const editor = useCannedEditor({
    path: '/api/admin/canned-responses',
    token: props.token,
    withQueue: true,
    confirmDelete: (r) => `Delete the shared response “${r.title}” for every agent?`,
    onError: (err, action) => props.onError(err, FAILED[action]),
  });

  useEffect(() => {
    void editor.reload();
  }, [props.token]);

  const queueName = (id: string | null) => (id ? (props.queues?.find((q) => q.id === id)?.name ?? id) : 'Every queue');

  return (
    <section class="card" aria-labelledby="canned-title" data-testid="admin-canned">
      <h2 id="canned-title">Canned responses</h2>
      <p class="muted small">
        Shared replies agents insert in chats (with the Canned button, or / and the shortcut), edited before sending. Agents also keep
        their own. Placeholders: <code>{'{customer.name}'}</code>, <code>{'{agent.name}'}</code>, <code>{'{queue.name}'}</code>.
      </p>
      <ItemTable testId="admin-canned-list" columns={['Title', 'Shortcut', 'Queue', 'Text', 'Actions']} placeholder={editor.list?.length === 0 && 'No shared responses yet.'}>
        {editor.list?.map((r) => (
          <tr key={r.id} data-testid="admin-canned-row" data-id={r.id}>
            <td>{r.title}</td>
            <td>{r.shortcut ? <code>/{r.shortcut}</code> : '—'}</td>
            <td>{queueName(r.queueId)}</td>
            <td class="small" style={{ whiteSpace: 'pre-wrap' }}>
              {r.body}
            </td>
            <td>
              <CannedRowActions editor={editor} response={r} testIdPrefix="admin-canned" />
            </td>
          </tr>
        ))}
      </ItemTable>
      <CannedForm
        editor={editor}
        idPrefix="admin-canned"
        testIdPrefix="admin-canned"
        noun="shared response"
        shortcutHint="(optional)"
        inline
        extra={
          <Field id="admin-canned-queue" label="Offered in">
            <select id="admin-canned-queue" value={editor.queueId} onChange={(e) => editor.setQueueId(e.currentTarget.value)} data-testid="admin-canned-queue">
              <option value="">Every queue</option>
              {props.queues?.map((q) => (
                <option key={q.id} value={q.id}>
                  {q.name}
                </option>
              ))}
            </select>
          </Field>
        }
      />
    </section>
  );
}
