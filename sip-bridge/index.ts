// The SIP bridge's public surface; other folders import from here only.
export { SipBridge, DialError, DEFAULT_RELAY, type RelayOptions, type SipBridgeOptions, type SipBridgeEvents, type DialogSummary, type DialOptions, type TrunkStatus } from './bridge.js';
export { InboundCall, type InboundCallEvents } from './call.js';
export { OutboundCall } from './outbound-call.js';
export { PhoneCall, PROMPTS_DIR, type DigitSource, type PhoneCallEvents } from './phone-call.js';
export { DEFAULT_TIMERS, type DialogTimers, type EndReason } from './dialog.js';
export type { CallerIdentity } from './message.js';
export type { RegistrationStatus } from './registration.js';
export type { ReachabilityStatus } from './keepalive.js';
export type { TrunkConfig, TrunkRegistrationConfig, TrunkKeepAliveConfig } from './trunks.js';
export { validateTrunks } from './trunks.js';
export type { ListedTrunk, TrunkEntry } from './trunk-directory.js';
