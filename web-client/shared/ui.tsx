// Small components shared by the three apps.
import type { ComponentChildren, JSX, Ref } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { ChatMessage, MessageSender } from '../../protocol/events.js';

export function Notice(props: {
  kind: 'error' | 'info' | 'ok' | 'warn';
  testId?: string;
  children: ComponentChildren;
  onDismiss?: () => void;
}) {
  return (
    <div
      class={`notice notice--${props.kind}`}
      role={props.kind === 'error' ? 'alert' : 'status'}
      data-testid={props.testId}
    >
      {props.children}
      {props.onDismiss && (
        <>
          {' '}
          <button type="button" class="linklike" onClick={props.onDismiss}>
            Dismiss
          </button>
        </>
      )}
    </div>
  );
}

export function formatTime(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** Merges messages by id and keeps them in time order (the server may send one twice: ack and event). */
export function mergeMessages(list: ChatMessage[], more: ChatMessage[]): ChatMessage[] {
  const byId = new Map(list.map((m) => [m.id, m]));
  let changed = false;
  for (const m of more) {
    if (!byId.has(m.id)) {
      byId.set(m.id, m);
      changed = true;
    }
  }
  if (!changed) return list;
  return [...byId.values()].sort((a, b) => a.createdAt - b.createdAt);
}

/** The conversation; messages from `own` sit on the right. Keeps the newest message in view. */
export function MessageList(props: {
  messages: ChatMessage[];
  own: MessageSender;
  testId: string;
  label: string;
  /** False while the list sits in a hidden tab; it scrolls to the newest message when shown. */
  visible?: boolean;
}) {
  const ref = useRef<HTMLOListElement>(null);
  const visible = props.visible ?? true;
  useEffect(() => {
    const el = ref.current;
    if (el && visible) el.scrollTop = el.scrollHeight;
  }, [props.messages.length, visible]);
  return (
    <ol class="messages" ref={ref} data-testid={props.testId} aria-label={props.label} aria-live="polite">
      {props.messages.map((m) => (
        <li
          key={m.id}
          class={`msg ${m.sender === props.own ? 'msg--own' : m.sender === 'system' ? 'msg--system' : ''}`}
          data-testid="message"
          data-sender={m.sender}
          data-message-id={m.id}
        >
          {m.sender !== 'system' && (
            <span class="msg__meta">
              {m.sender === props.own ? 'You' : m.senderName} · {formatTime(m.createdAt)}
            </span>
          )}
          <span data-testid="message-body">{m.body}</span>
        </li>
      ))}
    </ol>
  );
}

/** What every message box is given: its text, its state and its ids. */
export interface MessageBoxProps {
  id: string;
  label: string;
  value: string;
  onInput: (v: string) => void;
  onSend: () => void;
  disabled?: boolean;
  busy?: boolean;
  inputTestId: string;
  sendTestId: string;
}

/**
 * A text box that sends on Enter (Shift+Enter for a new line) and on the button. `onKeyDown` sees each key
 * first and returns true when it took it (the agent's canned-response list does); `children` are extra
 * buttons before Send.
 */
export function Composer(
  props: MessageBoxProps & {
    placeholder?: string;
    inputRef?: Ref<HTMLTextAreaElement>;
    inputAttrs?: JSX.TextareaHTMLAttributes<HTMLTextAreaElement>;
    onKeyDown?: (e: KeyboardEvent) => boolean;
    children?: ComponentChildren;
  },
) {
  const canSend = !props.disabled && !props.busy && props.value.trim().length > 0;
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        if (canSend) props.onSend();
      }}
    >
      <label class="visually-hidden" for={props.id}>
        {props.label}
      </label>
      <textarea
        {...props.inputAttrs}
        id={props.id}
        ref={props.inputRef}
        rows={2}
        maxLength={4000}
        value={props.value}
        disabled={props.disabled}
        placeholder={props.placeholder ?? props.label}
        data-testid={props.inputTestId}
        onInput={(e) => props.onInput(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (props.onKeyDown?.(e)) return;
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            if (canSend) props.onSend();
          }
        }}
      />
      {props.children}
      <button type="submit" disabled={!canSend} data-testid={props.sendTestId}>
        {props.busy ? 'Sending…' : 'Send'}
      </button>
    </form>
  );
}

/** A form field: its label, with an optional hint after it, above the control (which carries `id`). */
export function Field(props: { id: string; label: ComponentChildren; hint?: string; children: ComponentChildren }) {
  return (
    <div class="field">
      <label for={props.id}>
        {props.label}
        {props.hint && (
          <>
            {' '}
            <span class="hint">{props.hint}</span>
          </>
        )}
      </label>
      {props.children}
    </div>
  );
}

type InputAttrs = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, 'label' | 'value' | 'onInput'>;

/** A labelled input (text unless `type` says otherwise) that reports its value as the user types. */
export function InputField(props: InputAttrs & { id: string; label: ComponentChildren; hint?: string; value: string; onValue: (v: string) => void; testId?: string }) {
  const { label, hint, onValue, testId, ...input } = props;
  return (
    <Field id={props.id} label={label} hint={hint}>
      <input type="text" {...input} data-testid={testId} onInput={(e) => onValue(e.currentTarget.value)} />
    </Field>
  );
}

/** A labelled text area that reports its value as the user types. */
export function TextAreaField(props: { id: string; label: ComponentChildren; hint?: string; value: string; onValue: (v: string) => void; testId?: string; required?: boolean; maxLength?: number; rows?: number }) {
  return (
    <Field id={props.id} label={props.label} hint={props.hint}>
      <textarea
        id={props.id}
        required={props.required}
        maxLength={props.maxLength}
        rows={props.rows}
        value={props.value}
        onInput={(e) => props.onValue(e.currentTarget.value)}
        data-testid={props.testId}
      />
    </Field>
  );
}

/** The error and success notices above a form's fields. */
export function FormNotices(props: { error: string | null; done: string | null; errorTestId: string; doneTestId: string }) {
  return (
    <>
      {props.error && (
        <Notice kind="error" testId={props.errorTestId}>
          {props.error}
        </Notice>
      )}
      {props.done && (
        <Notice kind="ok" testId={props.doneTestId}>
          {props.done}
        </Notice>
      )}
    </>
  );
}

/** Submit and, while an existing item is being changed, Cancel: the end of an add-or-edit form. */
export function SaveButtons(props: { busy: boolean; editing: boolean; addLabel: string; testId: string; onCancel: () => void }) {
  return (
    <div class="row">
      <button type="submit" disabled={props.busy} data-testid={props.testId}>
        {props.busy ? 'Saving…' : props.editing ? 'Save changes' : props.addLabel}
      </button>
      {props.editing && (
        <button type="button" class="secondary" onClick={props.onCancel}>
          Cancel
        </button>
      )}
    </div>
  );
}

/**
 * A table of items: column headings, then `placeholder` (loading, or that there are none) as a single muted
 * row when it is set, then the rows.
 */
export function ItemTable(props: { testId: string; columns: ComponentChildren[]; placeholder?: string | null | false; children: ComponentChildren }) {
  return (
    <div class="table-wrap">
      <table data-testid={props.testId}>
        <thead>
          <tr>
            {props.columns.map((c, i) => (
              <th key={i} scope="col">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.placeholder && (
            <tr>
              <td colSpan={props.columns.length} class="muted">
                {props.placeholder}
              </td>
            </tr>
          )}
          {props.children}
        </tbody>
      </table>
    </div>
  );
}
