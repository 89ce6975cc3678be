// Adding, changing and deleting canned responses: one editor behind the admins' shared responses
// (console) and each agent's own (agent app), which differ only in their API path, wording and layout.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { CannedResponseView } from '../../protocol/canned.js';
import { api } from './api';
import { InputField, SaveButtons, TextAreaField } from './ui';

export type CannedAction = 'load' | 'save' | 'delete';

/** The list at `path` (filtered by `keep`), the form's fields and the calls that change them. */
export function useCannedEditor(opts: {
  path: string;
  token: string;
  /** Sends the queue field (shared responses can be limited to one queue). */
  withQueue?: boolean;
  keep?: (r: CannedResponseView) => boolean;
  confirmDelete: (r: CannedResponseView) => string;
  onError: (err: unknown, action: CannedAction) => void;
  /** Called when the form is filled or emptied and when a save starts (to clear an earlier error). */
  onReset?: () => void;
  /** Called after each change on the server. */
  onChanged?: () => void;
}) {
  const [list, setList] = useState<CannedResponseView[] | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [title, setTitle] = useState('');
  const [shortcut, setShortcut] = useState('');
  const [queueId, setQueueId] = useState('');
  const [body, setBody] = useState('');
  const [saving, setSaving] = useState(false);

  async function reload() {
    try {
      const all = await api<CannedResponseView[]>('GET', opts.path, undefined, opts.token);
      setList(opts.keep ? all.filter(opts.keep) : all);
    } catch (err) {
      opts.onError(err, 'load');
    }
  }

  function edit(r: CannedResponseView | null) {
    setEditing(r?.id ?? null);
    setTitle(r?.title ?? '');
    setShortcut(r?.shortcut ?? '');
    setQueueId(r?.queueId ?? '');
    setBody(r?.body ?? '');
    opts.onReset?.();
  }

  async function save(e: Event) {
    e.preventDefault();
    setSaving(true);
    opts.onReset?.();
    const fields = {
      title: title.trim(),
      body,
      shortcut: shortcut.trim().replace(/^\//, '').toLowerCase() || null,
      ...(opts.withQueue ? { queueId: queueId || null } : {}),
    };
    try {
      if (editing) await api('PATCH', `${opts.path}/${editing}`, fields, opts.token);
      else await api('POST', opts.path, fields, opts.token);
      edit(null);
      opts.onChanged?.();
      await reload();
    } catch (err) {
      opts.onError(err, 'save');
    } finally {
      setSaving(false);
    }
  }

  async function remove(r: CannedResponseView) {
    if (!window.confirm(opts.confirmDelete(r))) return;
    try {
      await api('DELETE', `${opts.path}/${r.id}`, undefined, opts.token);
      if (editing === r.id) edit(null);
      opts.onChanged?.();
      await reload();
    } catch (err) {
      opts.onError(err, 'delete');
    }
  }

  return { list, reload, editing, title, setTitle, shortcut, setShortcut, queueId, setQueueId, body, setBody, saving, edit, save, remove };
}

export type CannedEditor = ReturnType<typeof useCannedEditor>;

/** Edit and Delete for one listed response; test ids `${testIdPrefix}-edit` and `-delete`. */
export function CannedRowActions(props: { editor: CannedEditor; response: CannedResponseView; testIdPrefix: string }) {
  return (
    <div class="row">
      <button type="button" class="linklike" onClick={() => props.editor.edit(props.response)} data-testid={`${props.testIdPrefix}-edit`}>
        Edit
      </button>
      <button type="button" class="linklike" onClick={() => void props.editor.remove(props.response)} data-testid={`${props.testIdPrefix}-delete`}>
        Delete
      </button>
    </div>
  );
}

/**
 * The add-or-change form. Fields get ids `${idPrefix}-title`, `-shortcut`, `-body` (test ids the same);
 * the form and its button `${testIdPrefix}-form` and `-save`. `extra` fields go after the shortcut; with
 * `inline` the title, shortcut and extras share a row.
 */
export function CannedForm(props: {
  editor: CannedEditor;
  idPrefix: string;
  testIdPrefix: string;
  /** What a response is called in the heading: "response", "shared response". */
  noun: string;
  shortcutHint: string;
  inline?: boolean;
  extra?: ComponentChildren;
}) {
  const { editor, idPrefix: p } = props;
  const firstFields = (
    <>
      <InputField id={`${p}-title`} label="Title" required maxLength={80} value={editor.title} onValue={editor.setTitle} testId={`${p}-title`} />
      <InputField
        id={`${p}-shortcut`}
        label="Shortcut"
        hint={props.shortcutHint}
        maxLength={33}
        pattern="/?[A-Za-z0-9][A-Za-z0-9_-]*"
        value={editor.shortcut}
        onValue={editor.setShortcut}
        testId={`${p}-shortcut`}
      />
      {props.extra}
    </>
  );
  return (
    <form onSubmit={editor.save} data-testid={`${props.testIdPrefix}-form`}>
      <h3>{editor.editing ? `Change the ${props.noun}` : `Add a ${props.noun}`}</h3>
      {props.inline ? <div class="row">{firstFields}</div> : firstFields}
      <TextAreaField id={`${p}-body`} label="Text" required maxLength={4000} rows={3} value={editor.body} onValue={editor.setBody} testId={`${p}-body`} />
      <SaveButtons busy={editor.saving} editing={editor.editing !== null} addLabel="Add" testId={`${props.testIdPrefix}-save`} onCancel={() => editor.edit(null)} />
    </form>
  );
}
