// A phone call we placed on a trunk (SipBridge.dial) once the far end answered: whom we called, as
// whom, and how long it rang. Everything else (room, leg, prompts, hold, ended) is a PhoneCall's.
import { PhoneCall, type PhoneCallInit } from './phone-call.js';

export interface OutboundCallInit extends PhoneCallInit {
  to: string;
  from: string;
  ringingMs: number;
}

export class OutboundCall extends PhoneCall {
  readonly direction = 'outbound' as const;
  /** The Request-URI we called (sip: or tel: URI made from the number dialled). */
  readonly to: string;
  /** Our From URI. */
  readonly from: string;
  /** From the INVITE to the answer. */
  readonly ringingMs: number;

  /** @private Built by SipBridge.dial. */
  constructor(init: OutboundCallInit) {
    super(init);
    this.to = init.to;
    this.from = init.from;
    this.ringingMs = init.ringingMs;
  }
}
