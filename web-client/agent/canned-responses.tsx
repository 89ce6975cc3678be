// Canned responses in the chat workspace: the message box with a "Canned" button (a filterable list)
// and "/" + shortcut typed at the start of the box; the chosen response is filled in (customer, agent,
// queue names) and put into the box for editing, never sent by itself. And a card where the agent
// manages their own responses (shared ones are the admins', in the admin console).
import { useEffect, useRef, useState } from 'preact/hooks';
import type { CannedResponseView } from '../../protocol/canned.js';
import { describeError } from '../shared/api';
import { CannedForm, CannedRowActions, useCannedEditor } from '../shared/canned-editor';
import { Composer, Notice, type MessageBoxProps } from '../shared/ui';
import { cannedChanged, fillPlaceholders, findCanned, loadCanned, onCannedChanged, slashQuery, type PlaceholderValues } from './canned';
import './canned.css';

function useCanned(token: string, queueId: string): { list: CannedResponseView[]; error: string | null } {
  const [list, setList] = useState<CannedResponseView[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => onCannedChanged(() => setVersion((v) => v + 1)), []);
  useEffect(() => {
    let live = true;
    loadCanned(token, queueId).then(
      (l) => {
        if (live) {
          setList(l);
          setError(null);
        }
      },
      (err: unknown) => live && setError(`Could not load the canned responses: ${describeError(err)}`),
    );
    return () => {
      live = false;
    };
  }, [token, queueId, version]);
  return { list, error };
}

/** The list of responses to pick from: keyboard (arrows, Enter) or pointer. */
function CannedList(props: { items: CannedResponseView[]; active: number; onPick: (r: CannedResponseView) => void; id: string; empty: string }) {
  return (
    <>
      {props.items.length === 0 && <p class="muted small canned-list__empty">{props.empty}</p>}
      {/* An empty listbox is no listbox: the list exists only with options in it. */}
      {props.items.length > 0 && (
        <ul class="canned-list" role="listbox" id={props.id} aria-label="Canned responses" data-testid="canned-list">
          {props.items.map((r, i) => (
            <li
              key={r.id}
              id={`${props.id}-${i}`}
              role="option"
              aria-selected={i === props.active}
              class={`canned-item${i === props.active ? ' canned-item--active' : ''}`}
              data-testid="canned-item"
              data-shortcut={r.shortcut ?? ''}
              // mousedown, not click: the text box keeps its focus (and cursor position).
              onMouseDown={(e) => {
                e.preventDefault();
                props.onPick(r);
              }}
            >
              <span class="canned-item__title">
                {r.title}
                {r.shortcut && <code class="canned-item__shortcut">/{r.shortcut}</code>}
                {r.scope === 'shared' && <span class="badge">shared</span>}
              </span>
              <span class="canned-item__body muted small">{r.body}</span>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/**
 * The agent's message box: sends on Enter (Shift+Enter for a new line) unless a canned-response list
 * is open, where Enter (or Tab) inserts the highlighted response instead.
 */
export function CannedComposer(props: MessageBoxProps & { token: string; queueId: string; fill: PlaceholderValues }) {
  const { token, queueId, fill, ...messageBox } = props;
  const { list, error } = useCanned(token, queueId);
  const box = useRef<HTMLTextAreaElement>(null);
  const filterBox = useRef<HTMLInputElement>(null);
  const [browsing, setBrowsing] = useState(false);
  const [filter, setFilter] = useState('');
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState<string | null>(null);

  const slash = slashQuery(props.value);
  const suggesting = slash !== null && dismissed !== props.value && !browsing;
  const items = suggesting ? findCanned(list, slash, { shortcutsOnly: slash.length > 0 }) : browsing ? findCanned(list, filter) : [];
  const open = suggesting || browsing;
  const listId = `${props.id}-canned`;

  useEffect(() => setActive(0), [slash, filter, browsing]);
  // The list opens for typing: the filter takes the keys (arrows and Enter pick).
  useEffect(() => {
    if (browsing) filterBox.current?.focus();
  }, [browsing]);

  function insert(r: CannedResponseView) {
    const text = fillPlaceholders(r.body, fill);
    const el = box.current;
    let next: string;
    let caret: number;
    if (slashQuery(props.value) !== null) {
      // "/shortcut" is replaced by the response.
      next = text;
      caret = text.length;
    } else {
      const start = el?.selectionStart ?? props.value.length;
      const end = el?.selectionEnd ?? props.value.length;
      const before = props.value.slice(0, start);
      const spacer = before && !/\s$/.test(before) ? ' ' : '';
      next = before + spacer + text + props.value.slice(end);
      caret = before.length + spacer.length + text.length;
    }
    props.onInput(next);
    setBrowsing(false);
    setFilter('');
    // After Preact has written the new value: focus the box with the cursor after the insert, for editing.
    requestAnimationFrame(() => {
      box.current?.focus();
      box.current?.setSelectionRange(caret, caret);
    });
  }

  /** Keys for an open list; true when the key was taken. */
  function listKey(e: KeyboardEvent): boolean {
    if (!open) return false;
    if (items.length > 0 && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
      e.preventDefault();
      setActive((a) => (a + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length);
      return true;
    }
    if (items.length > 0 && ((e.key === 'Enter' && !e.shiftKey && !e.isComposing) || e.key === 'Tab')) {
      e.preventDefault();
      insert(items[Math.min(active, items.length - 1)]!);
      return true;
    }
    if (e.key === 'Escape') {
      e.preventDefault();
      setBrowsing(false);
      setDismissed(props.value);
      box.current?.focus();
      return true;
    }
    return false;
  }

  return (
    <div
      class="canned-composer"
      // Escape closes the list wherever the focus is in the composer (the Canned button too).
      onKeyDown={(e) => {
        if (!e.defaultPrevented && e.key === 'Escape' && open) listKey(e);
      }}
    >
      <Composer
        {...messageBox}
        placeholder={`${props.label} — type / for canned responses`}
        inputRef={box}
        inputAttrs={{
          'aria-controls': suggesting && items.length > 0 ? listId : undefined,
          'aria-autocomplete': 'list',
          'aria-activedescendant': suggesting && items.length > 0 ? `${listId}-${active}` : undefined,
        }}
        onKeyDown={listKey}
      >
        <button
          type="button"
          class={`secondary${browsing ? ' is-on' : ''}`}
          aria-pressed={browsing}
          aria-controls={browsing && items.length > 0 ? listId : undefined}
          onClick={() => {
            setBrowsing((b) => !b);
            setFilter('');
          }}
          data-testid="canned-open"
        >
          Canned
        </button>
      </Composer>
      {open && (
        <div class="canned-popover card" data-testid="canned-picker">
          {browsing && (
            <input
              type="search"
              class="canned-filter"
              placeholder="Filter by title, text or shortcut"
              aria-label="Filter canned responses"
              aria-controls={items.length > 0 ? listId : undefined}
              value={filter}
              ref={filterBox}
              onInput={(e) => setFilter(e.currentTarget.value)}
              onKeyDown={(e) => {
                // Never sends: Enter here picks a response or does nothing.
                if (!listKey(e) && e.key === 'Enter') e.preventDefault();
              }}
              data-testid="canned-filter"
            />
          )}
          <CannedList
            id={listId}
            items={items}
            active={active}
            onPick={insert}
            empty={list.length === 0 ? 'No canned responses yet: add your own under “My canned responses”.' : 'No canned response matches.'}
          />
        </div>
      )}
      {error && open && <p class="muted small">{error}</p>}
    </div>
  );
}

const FAILED = { load: 'Could not load your canned responses', save: 'Not saved', delete: 'Could not delete' };

/** The agent's own responses: add, change, delete. */
export function CannedManager(props: { token: string }) {
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState(false);
  const editor = useCannedEditor({
    path: '/api/agent/canned-responses',
    token: props.token,
    keep: (r) => r.scope === 'personal',
    confirmDelete: (r) => `Delete “${r.title}”?`,
    onError: (err, action) => setError(`${FAILED[action]}: ${describeError(err)}`),
    onReset: () => setError(null),
    onChanged: cannedChanged,
  });
  const mine = editor.list;

  useEffect(() => {
    if (open && mine === null) void editor.reload();
  }, [open]);

  return (
    <section class="card" aria-labelledby="canned-title" data-testid="canned-manager">
      <details open={open} onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
        <summary>
          <h2 id="canned-title" class="canned-manager__title">
            My canned responses
          </h2>
        </summary>
        <p class="muted small">
          Replies you reuse in chats: pick one with the Canned button or type / and its shortcut in the message box. It is put into
          the box for you to edit before sending. Placeholders: <code>{'{customer.name}'}</code>, <code>{'{agent.name}'}</code>,{' '}
          <code>{'{queue.name}'}</code>.
        </p>
        {error && (
          <Notice kind="error" testId="canned-error" onDismiss={() => setError(null)}>
            {error}
          </Notice>
        )}
        {mine && mine.length === 0 && <p class="muted small">You have none yet.</p>}
        {mine && mine.length > 0 && (
          <ul class="canned-mine">
            {mine.map((r) => (
              <li key={r.id} data-testid="canned-row" data-id={r.id}>
                <strong>{r.title}</strong> {r.shortcut && <code>/{r.shortcut}</code>}
                <div class="muted small canned-item__body">{r.body}</div>
                <CannedRowActions editor={editor} response={r} testIdPrefix="canned" />
              </li>
            ))}
          </ul>
        )}
        <CannedForm editor={editor} idPrefix="canned-new" testIdPrefix="canned" noun="response" shortcutHint="(optional: letters, digits, - and _)" />
      </details>
    </section>
  );
}
