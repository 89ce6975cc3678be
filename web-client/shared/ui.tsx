// Small components shared by the three apps.
import type { ComponentChildren } from 'preact';
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

/** A text box that sends on Enter (Shift+Enter for a new line) and on the button. */
export function Composer(props: {
  value: string;
  onInput: (v: string) => void;
  onSend: () => void;
  disabled?: boolean;
  busy?: boolean;
  label: string;
  inputTestId: string;
  sendTestId: string;
  id: string;
}) {
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
        id={props.id}
        rows={2}
        maxLength={4000}
        value={props.value}
        disabled={props.disabled}
        placeholder={props.label}
        data-testid={props.inputTestId}
        onInput={(e) => props.onInput(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            if (canSend) props.onSend();
          }
        }}
      />
      <button type="submit" disabled={!canSend} data-testid={props.sendTestId}>
        {props.busy ? 'Sending…' : 'Send'}
      </button>
    </form>
  );
}
