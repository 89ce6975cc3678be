// SIP trunks as admins manage them over HTTP (/api/admin/sip/trunks, docs/configuration.md "SIP
// trunks"). The fields are those of a trunk in MCCS_SIP_TRUNKS_FILE (sip-bridge/README.md). Passwords
// go in only: a view says whether one is set, never what it is. Shapes here; meaning (CIDRs, hops,
// that a trunk accepts somebody) is checked by sip-bridge/trunks.ts.
import { Type, type Static } from '@sinclair/typebox';

export const SipTrunkId = Type.String({ minLength: 1, maxLength: 40, pattern: '^[A-Za-z0-9_-]+$' });
const QueueRef = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
/** A SIP URI (sip:, sips:, ;transport=udp|tcp|tls) or host:port. */
const Hop = Type.String({ minLength: 1, maxLength: 300, description: 'SIP URI or host:port, e.g. sip:sip.example.net:5060;transport=tcp' });
const Name = Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\s"\\\\]+$' });
const Realm = Type.String({ minLength: 1, maxLength: 128, pattern: '^[^"\\\\]+$' });
/** Write-only. Omitted on an update: the stored one is kept. */
const Password = Type.String({ minLength: 1, maxLength: 200 });

/** Everything an admin sets on a trunk (the id is in the path for an update). */
export const SipTrunkSettings = Type.Object(
  {
    /** Source addresses allowed to send calls: IPv4 CIDRs or single addresses. */
    allow: Type.Optional(Type.Array(Type.String({ minLength: 7, maxLength: 18 }), { maxItems: 100 })),
    /** Digest credentials the trunk must present on its INVITEs. */
    auth: Type.Optional(Type.Object({ username: Name, password: Type.Optional(Password), realm: Type.Optional(Realm) }, { additionalProperties: false })),
    maxConcurrent: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    maxCallsPerSecond: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10_000 })),
    /** Where calls we place go; default the registrar. */
    target: Type.Optional(Hop),
    register: Type.Optional(
      Type.Object(
        {
          registrar: Hop,
          username: Name,
          password: Type.Optional(Password),
          realm: Type.Optional(Realm),
          expires: Type.Optional(Type.Integer({ minimum: 60, maximum: 86_400 })),
          contactUser: Type.Optional(Name),
        },
        { additionalProperties: false },
      ),
    ),
    keepAlive: Type.Optional(
      Type.Object(
        {
          target: Type.Optional(Hop),
          intervalSeconds: Type.Integer({ minimum: 5, maximum: 3600 }),
          failuresBeforeDown: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
        },
        { additionalProperties: false },
      ),
    ),
    rtpRelay: Type.Optional(Type.Boolean()),
    /** The queue its calls wait in; default 'general'. */
    queueId: Type.Optional(QueueRef),
    /** DTMF topic menu: digit → queue id. */
    menu: Type.Optional(Type.Record(Type.String({ pattern: '^[0-9*#]$' }), QueueRef, { maxProperties: 12 })),
    menuPrompt: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
    /** Customers are called back (and agents' phones rung) through this trunk; at most one trunk says so. */
    callbacks: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type SipTrunkSettings = Static<typeof SipTrunkSettings>;

export const CreateSipTrunkBody = Type.Composite([Type.Object({ id: SipTrunkId }), SipTrunkSettings], { additionalProperties: false });
export type CreateSipTrunkBody = Static<typeof CreateSipTrunkBody>;

export const SipTrunkParams = Type.Object({ id: SipTrunkId });

const Nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Number> | ReturnType<typeof Type.Integer>>(t: T) => Type.Union([t, Type.Null()]);

/** A trunk's live state as the running SIP bridge sees it (sip-bridge TrunkStatus). */
export const SipTrunkState = Type.Object({
  activeCalls: Type.Integer(),
  registration: Type.Optional(
    Type.Object({
      state: Type.Union([Type.Literal('registering'), Type.Literal('registered'), Type.Literal('failed'), Type.Literal('unregistered')]),
      reason: Type.Optional(Type.String()),
      expiresAt: Type.Optional(Type.Number()),
      since: Type.Number(),
    }),
  ),
  reachability: Type.Optional(
    Type.Object({
      state: Type.Union([Type.Literal('unknown'), Type.Literal('up'), Type.Literal('down')]),
      failures: Type.Integer(),
      lastStatus: Type.Optional(Type.Integer()),
      lastRttMs: Type.Optional(Type.Number()),
      since: Type.Number(),
    }),
  ),
});

export const SipTrunkView = Type.Object({
  id: Type.String(),
  /** file: from MCCS_SIP_TRUNKS_FILE, read-only here; console: stored in the database, editable. */
  source: Type.Union([Type.Literal('file'), Type.Literal('console')]),
  allow: Type.Array(Type.String()),
  auth: Type.Union([Type.Object({ username: Type.String(), realm: Nullable(Type.String()), passwordSet: Type.Boolean() }), Type.Null()]),
  maxConcurrent: Nullable(Type.Number()),
  maxCallsPerSecond: Nullable(Type.Number()),
  target: Nullable(Type.String()),
  register: Type.Union([
    Type.Object({
      registrar: Type.String(),
      username: Type.String(),
      realm: Nullable(Type.String()),
      expires: Nullable(Type.Integer()),
      contactUser: Nullable(Type.String()),
      passwordSet: Type.Boolean(),
    }),
    Type.Null(),
  ]),
  keepAlive: Type.Union([Type.Object({ target: Nullable(Type.String()), intervalSeconds: Type.Number(), failuresBeforeDown: Nullable(Type.Integer()) }), Type.Null()]),
  rtpRelay: Type.Boolean(),
  queueId: Type.String(),
  menu: Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()]),
  menuPrompt: Nullable(Type.String()),
  callbacks: Type.Boolean(),
  /** Console trunks: last change, epoch ms. */
  updatedAt: Nullable(Type.Number()),
  /** Calls up (0 while the SIP bridge is not running); registration and reachability only while it runs, for trunks with them. */
  activeCalls: Type.Integer(),
  registration: Type.Optional(SipTrunkState.properties.registration),
  reachability: Type.Optional(SipTrunkState.properties.reachability),
});
export type SipTrunkView = Static<typeof SipTrunkView>;

export const SipTrunksReply = Type.Object({
  /** The SIP bridge is running (there is at least one trunk, or was since the start). */
  enabled: Type.Boolean(),
  trunks: Type.Array(SipTrunkView),
});
export type SipTrunksReply = Static<typeof SipTrunksReply>;
