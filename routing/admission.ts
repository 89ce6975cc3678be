// Whether a queue takes a new task now, and where it goes instead: opening hours with a closed-queue
// behaviour, a maximum number waiting, and overflow to another queue. The customer gets a clear answer.
import { DomainError } from '../lib/errors.js';
import { isOpen, nextOpening, type BusinessHours } from './business-hours.js';

export type ClosedAction = 'refuse' | 'overflow' | 'wait';

export interface AdmissionRules {
  id: string;
  name: string;
  businessHours: BusinessHours | null;
  closedAction: ClosedAction;
  maxWaiting: number | null;
  overflowQueueId: string | null;
}

/**
 * The queue that takes the task: the asked one, or its overflow (followed up to a few hops, never in a
 * loop). Throws QUEUE_CLOSED (with when it opens) or QUEUE_FULL when nobody takes it.
 */
export async function admit(
  queueId: string,
  now: number,
  rulesOf: (id: string) => Promise<AdmissionRules | null>,
  waitingCount: (id: string) => Promise<number>,
): Promise<string> {
  const visited = new Set<string>();
  let current = queueId;
  for (;;) {
    const rules = await rulesOf(current);
    if (!rules) throw new DomainError('NOT_FOUND', `topic ${current} not found`);
    visited.add(current);
    const next = rules.overflowQueueId && !visited.has(rules.overflowQueueId) && visited.size < 4 ? rules.overflowQueueId : null;
    if (!isOpen(rules.businessHours, now)) {
      if (rules.closedAction === 'overflow' && next) {
        current = next;
        continue;
      }
      if (rules.closedAction !== 'wait') {
        const opensAt = nextOpening(rules.businessHours, now);
        throw new DomainError('QUEUE_CLOSED', `${rules.name} is closed now${opensAt ? `; it opens at ${new Date(opensAt).toISOString()}` : ''}`, {
          queueId: current,
          opensAt,
        });
      }
    }
    if (rules.maxWaiting !== null && (await waitingCount(current)) >= rules.maxWaiting) {
      if (next) {
        current = next;
        continue;
      }
      throw new DomainError('QUEUE_FULL', `${rules.name} has too many people waiting; please try again later`, { queueId: current });
    }
    return current;
  }
}
