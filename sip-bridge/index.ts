// The SIP bridge's public surface; other folders import from here only.
export { SipBridge, type SipBridgeOptions, type SipBridgeEvents, type DialogSummary } from './bridge.js';
export { InboundCall, PROMPTS_DIR, type InboundCallEvents } from './call.js';
export { DEFAULT_TIMERS, type DialogTimers, type EndReason } from './dialog.js';
export type { CallerIdentity } from './message.js';
export type { TrunkConfig } from './trunks.js';
export { validateTrunks } from './trunks.js';
