// After a conversation an agent answered: 1–5 stars and an optional comment, sent once.
import { useState } from 'preact/hooks';
import type { Socket } from 'socket.io-client';
import type { CustomerClientToServer, CustomerServerToClient } from '../../protocol/events.js';
import { describeError } from '../shared/api';
import { request } from '../shared/socket';
import { Notice } from '../shared/ui';

type CustomerSocket = Socket<CustomerServerToClient, CustomerClientToServer>;

export function RatingForm(props: { taskId: string; agentName: string; socket: CustomerSocket | null }) {
  const [stars, setStars] = useState(0);
  const [comment, setComment] = useState('');
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (done) return <Notice kind="ok" testId="widget-rated">Thank you for your rating.</Notice>;

  async function send(e: Event) {
    e.preventDefault();
    if (!props.socket || stars < 1) return;
    try {
      await request(props.socket, 'chat:rate', { taskId: props.taskId, stars, ...(comment.trim() ? { comment: comment.trim() } : {}) });
      setDone(true);
    } catch (err) {
      setError(describeError(err));
    }
  }

  return (
    <form onSubmit={(e) => void send(e)} data-testid="widget-rating" style={{ margin: '0.5rem 0' }}>
      <fieldset>
        <legend class="small">How did {props.agentName} help you?</legend>
        <div class="row" role="radiogroup" aria-label="Stars">
          {[1, 2, 3, 4, 5].map((n) => (
            <label key={n} class="small">
              <input type="radio" name={`stars-${props.taskId}`} value={n} checked={stars === n} onChange={() => setStars(n)} data-testid={`widget-star-${n}`} />
              {n}★
            </label>
          ))}
        </div>
      </fieldset>
      <label for={`rating-comment-${props.taskId}`} class="small">
        Comment <span class="hint">(optional)</span>
      </label>
      <input id={`rating-comment-${props.taskId}`} value={comment} maxLength={1000} onInput={(e) => setComment(e.currentTarget.value)} />
      <button type="submit" class="secondary" disabled={stars < 1} data-testid="widget-rate">
        Send rating
      </button>
      {error && <Notice kind="error">{error}</Notice>}
    </form>
  );
}
