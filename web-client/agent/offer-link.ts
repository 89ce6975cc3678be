// Opening the app from an offer's notification (pwa/sw.ts): `?offer=<taskId>[&accept=1]` when the app
// was closed, a message from the service worker when it was open. The offer is highlighted, accepted
// when the notification's Accept was tapped, or reported gone.
import { useEffect, useState } from 'preact/hooks';
import type { Offer } from '../../protocol/events.js';

interface OfferLink {
  taskId: string;
  accept: boolean;
}

function fromLocation(): OfferLink | null {
  const params = new URLSearchParams(location.search);
  const taskId = params.get('offer');
  if (!taskId) return null;
  // The link is used once: a reload must not accept again.
  history.replaceState(null, '', location.pathname);
  return { taskId, accept: params.get('accept') === '1' };
}

function fromMessage(data: unknown): OfferLink | null {
  const d = data as { type?: unknown; taskId?: unknown; accept?: unknown } | null;
  return d?.type === 'offer:open' && typeof d.taskId === 'string' ? { taskId: d.taskId, accept: d.accept === true } : null;
}

/**
 * Returns the task id of the offer to highlight. `loaded`: the server's list of offers has arrived,
 * so an offer missing from it is gone (taken, expired).
 */
export function useOfferLink(opts: { loaded: boolean; offers: Offer[]; accept: (offer: Offer) => void; gone: () => void }): string | null {
  const [link, setLink] = useState<OfferLink | null>(fromLocation);
  const [highlighted, setHighlighted] = useState<string | null>(null);

  useEffect(() => {
    if (!('serviceWorker' in navigator)) return;
    const onMessage = (e: MessageEvent) => {
      const l = fromMessage(e.data);
      if (l) setLink(l);
    };
    navigator.serviceWorker.addEventListener('message', onMessage);
    navigator.serviceWorker.startMessages();
    return () => navigator.serviceWorker.removeEventListener('message', onMessage);
  }, []);

  useEffect(() => {
    if (!link || !opts.loaded) return;
    setLink(null);
    const offer = opts.offers.find((o) => o.taskId === link.taskId);
    if (!offer) return opts.gone();
    setHighlighted(offer.taskId);
    document.querySelector(`[data-testid="offer-card"][data-task-id="${CSS.escape(offer.taskId)}"]`)?.scrollIntoView({ block: 'center' });
    if (link.accept) opts.accept(offer);
  }, [link, opts.loaded, opts.offers]);

  return highlighted;
}
