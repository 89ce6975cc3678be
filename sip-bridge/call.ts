// A phone call that came in on a trunk: who called (identity, privacy) and which number they dialled.
import type { CallerIdentity } from './message.js';
import { PhoneCall, type PhoneCallEvents, type PhoneCallInit } from './phone-call.js';

export { PROMPTS_DIR } from './phone-call.js';
export type InboundCallEvents = PhoneCallEvents;

export interface InboundCallInit extends PhoneCallInit {
  caller: CallerIdentity;
  called: string | undefined;
}

export class InboundCall extends PhoneCall {
  readonly direction = 'inbound' as const;
  readonly caller: CallerIdentity;
  /** The number the caller dialled (Request-URI user part). */
  readonly called: string | undefined;

  /** @private Built by SipBridge. */
  constructor(init: InboundCallInit) {
    super(init);
    this.caller = init.caller;
    this.called = init.called;
  }
}
