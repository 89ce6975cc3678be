// Trunks: who may send us calls (source-address allow list and/or digest credentials), how many
// (concurrent calls, call set-ups per second), and for the outbound side where our requests go
// (registrar, keep-alive target, calls we place). Pure logic, no sockets: the bridge asks
// `TrunkTable.classify()` for each new INVITE and `TrunkLimiter` for admission.
/// <reference path="./sip.d.ts" />
import net from 'node:net';
import { parseUri, type SipUri } from 'sip';
import { sipUri } from './uac.js';

/** Outbound registration of our Contact at the provider (RFC 3261 §10). */
export interface TrunkRegistrationConfig {
  /** The registrar: a SIP URI (sip:, sips:, ;transport=tcp) or host:port. Also where calls go without `target`. */
  registrar: string;
  username: string;
  password: string;
  /** Answer only challenges of this realm; default: whatever realm the registrar names. */
  realm?: string;
  /** Registration lifetime we ask for, seconds. Default 3600. */
  expires?: number;
  /** User part of the Contact we register (the provider sends calls to it). Default: username. */
  contactUser?: string;
}

/** OPTIONS pings that tell whether the trunk answers at all. */
export interface TrunkKeepAliveConfig {
  /** Whom to ping: a SIP URI or host:port. Default: the trunk's target (or registrar). */
  target?: string;
  intervalSeconds: number;
  /** Consecutive failures (no answer, 408, 5xx-6xx other than 405) before the trunk is down. Default 2. */
  failuresBeforeDown?: number;
}

export interface TrunkConfig {
  /** Our name for the trunk (shown on calls and in logs). */
  id: string;
  /** Source addresses allowed to send on this trunk: IPv4 CIDR ("203.0.113.0/24") or a single address. */
  allow?: string[];
  /** Digest credentials the trunk must present (401 challenge). With `allow` too, both are required. */
  auth?: { username: string; password: string; realm?: string };
  /** Concurrent calls on the trunk; more → 503. Default unlimited. */
  maxConcurrent?: number;
  /** New calls per second on the trunk; more → 503 with Retry-After. Default unlimited. */
  maxCallsPerSecond?: number;
  /** Where calls we place go (SipBridge.dial): a SIP URI or host:port. Default: the registrar. */
  target?: string;
  register?: TrunkRegistrationConfig;
  keepAlive?: TrunkKeepAliveConfig;
  /** Relay the trunk's RTP through the bridge (RFC 4733 digits, RTP time-out). Default true; false points phones straight at the media server. */
  rtpRelay?: boolean;
}

/** Where a trunk's outbound requests go, if anywhere. */
export function outboundTarget(t: TrunkConfig): string | undefined {
  return t.target ?? t.register?.registrar;
}

/** Throws TypeError on a config that cannot work, so a mistake fails at start, not on the first call. */
export function validateTrunks(trunks: TrunkConfig[]): void {
  const ids = new Set<string>();
  for (const t of trunks) {
    if (!t.id) throw new TypeError('a SIP trunk needs an id');
    if (ids.has(t.id)) throw new TypeError(`SIP trunk id ${t.id} is used twice`);
    ids.add(t.id);
    if (!t.allow?.length && !t.auth && !outboundTarget(t)) {
      throw new TypeError(`SIP trunk ${t.id} has no allow list, no credentials and no outbound target: it would accept anyone`);
    }
    const uri = (what: string, v: string): void => {
      const problem = hopProblem(v);
      if (problem) throw new TypeError(`SIP trunk ${t.id}: ${what} ${problem}: ${v}`);
    };
    if (t.rtpRelay !== undefined && typeof t.rtpRelay !== 'boolean') throw new TypeError(`SIP trunk ${t.id}: rtpRelay must be true or false`);
    if (t.target !== undefined) uri('target', t.target);
    if (t.register) {
      uri('register.registrar', t.register.registrar);
      if (!t.register.username || !t.register.password) throw new TypeError(`SIP trunk ${t.id}: register needs a username and a password`);
      const e = t.register.expires;
      if (e !== undefined && (!Number.isInteger(e) || e < 60)) throw new TypeError(`SIP trunk ${t.id}: register.expires must be at least 60 seconds`);
    }
    if (t.keepAlive) {
      const k = t.keepAlive;
      const target = k.target ?? outboundTarget(t);
      if (!target) throw new TypeError(`SIP trunk ${t.id}: keepAlive needs a target (or the trunk's target/registrar)`);
      uri('keepAlive.target', target);
      if (!(k.intervalSeconds > 0)) throw new TypeError(`SIP trunk ${t.id}: keepAlive.intervalSeconds must be positive`);
      if (k.failuresBeforeDown !== undefined && !(Number.isInteger(k.failuresBeforeDown) && k.failuresBeforeDown > 0)) {
        throw new TypeError(`SIP trunk ${t.id}: keepAlive.failuresBeforeDown must be a positive integer`);
      }
    }
    for (const c of t.allow ?? []) parseCidr(c);
    if (t.auth && (!t.auth.username || !t.auth.password)) throw new TypeError(`SIP trunk ${t.id}: credentials need a username and a password`);
    for (const k of ['maxConcurrent', 'maxCallsPerSecond'] as const) {
      const v = t[k];
      if (v !== undefined && (!Number.isFinite(v) || v <= 0)) throw new TypeError(`SIP trunk ${t.id}: ${k} must be a positive number`);
    }
  }
}

const TRANSPORTS = new Set(['udp', 'tcp', 'tls']);

/** Why `v` is not a usable next hop (SIP URI or host:port, a port 1-65535, transport udp/tcp/tls); null when it is. */
export function hopProblem(v: string): string | null {
  if (typeof v !== 'string' || v.length > 300 || /[\s<>"]/.test(v)) return 'is not a SIP URI or host:port';
  let parsed: SipUri | undefined;
  try {
    parsed = parseUri(sipUri(v));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.host) return 'is not a SIP URI or host:port';
  if (!/^[A-Za-z0-9.-]+$/.test(parsed.host)) return 'has no valid host name or IPv4 address';
  if (parsed.port !== undefined && parsed.port !== null && !(Number.isInteger(parsed.port) && parsed.port >= 1 && parsed.port <= 65535)) {
    return 'has a port outside 1-65535';
  }
  const transport = parsed.params.transport;
  if (transport !== undefined && !TRANSPORTS.has(String(transport).toLowerCase())) return 'has a transport other than udp, tcp or tls';
  return null;
}

interface Cidr {
  base: number;
  mask: number;
}

export function parseCidr(s: string): Cidr {
  const [addr, bitsText] = s.trim().split('/');
  if (!addr || !net.isIPv4(addr)) throw new TypeError(`not an IPv4 address or CIDR: ${s}`);
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new TypeError(`bad prefix length in ${s}`);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (ipv4ToInt(addr) & mask) >>> 0, mask };
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0);
}

export function inCidr(ip: string, cidr: Cidr): boolean {
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  if (!net.isIPv4(v4)) return false;
  return ((ipv4ToInt(v4) & cidr.mask) >>> 0) === cidr.base;
}

export type TrunkMatch =
  /** The source matched an allow list: the trunk, and whether it also wants digest credentials. */
  | { kind: 'trunk'; trunk: TrunkConfig }
  /** No allow list matched, but trunks with credentials exist: challenge or check the Authorization. */
  | { kind: 'credentials'; candidates: TrunkConfig[] }
  | { kind: 'forbidden' };

export class TrunkTable {
  readonly #trunks: Array<{ trunk: TrunkConfig; cidrs: Cidr[] }>;

  constructor(trunks: TrunkConfig[]) {
    validateTrunks(trunks);
    this.#trunks = trunks.map((trunk) => ({ trunk, cidrs: (trunk.allow ?? []).map(parseCidr) }));
  }

  get trunks(): TrunkConfig[] {
    return this.#trunks.map((t) => t.trunk);
  }

  get(id: string): TrunkConfig | undefined {
    return this.#trunks.find((t) => t.trunk.id === id)?.trunk;
  }

  /** Which trunk a request from `sourceIp` may belong to. */
  classify(sourceIp: string): TrunkMatch {
    const byAddress = this.#trunks.find((t) => t.cidrs.some((c) => inCidr(sourceIp, c)));
    if (byAddress) return { kind: 'trunk', trunk: byAddress.trunk };
    // Credential-only trunks (no allow list) can be reached from anywhere.
    const candidates = this.#trunks.filter((t) => t.cidrs.length === 0 && t.trunk.auth).map((t) => t.trunk);
    return candidates.length ? { kind: 'credentials', candidates } : { kind: 'forbidden' };
  }
}

/** Per-trunk admission: concurrent calls and set-ups in the last second. */
export class TrunkLimiter {
  readonly #active = new Map<string, number>();
  readonly #starts = new Map<string, number[]>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Admits a new call (counting it) or says how long the caller should wait (seconds). */
  admit(trunk: TrunkConfig): { ok: true } | { ok: false; retryAfter: number; reason: string } {
    const active = this.#active.get(trunk.id) ?? 0;
    if (trunk.maxConcurrent !== undefined && active >= trunk.maxConcurrent) {
      return { ok: false, retryAfter: 5, reason: 'trunk at its concurrent call limit' };
    }
    if (trunk.maxCallsPerSecond !== undefined) {
      const now = this.#now();
      const starts = (this.#starts.get(trunk.id) ?? []).filter((t) => now - t < 1000);
      this.#starts.set(trunk.id, starts);
      if (starts.length >= trunk.maxCallsPerSecond) return { ok: false, retryAfter: 1, reason: 'trunk over its call set-up rate' };
      starts.push(now);
    }
    this.#active.set(trunk.id, active + 1);
    return { ok: true };
  }

  /** A call admitted earlier has ended (exactly once per admitted call). */
  release(trunk: TrunkConfig): void {
    const n = (this.#active.get(trunk.id) ?? 0) - 1;
    if (n > 0) this.#active.set(trunk.id, n);
    else this.#active.delete(trunk.id);
  }

  active(trunkId: string): number {
    return this.#active.get(trunkId) ?? 0;
  }
}
