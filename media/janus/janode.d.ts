// janode ships JavaScript only. This declares the part of its API we use, read from
// node_modules/janode/src (janode.js, connection.js, configuration.js, protocol.js, utils/logger.js).
// Extend it here, and only here, as the media layer grows (sessions, handles, plugins).
declare module 'janode' {
  import type { EventEmitter } from 'node:events';

  export interface JanodeServerAddress {
    url: string;
    apisecret?: string;
    token?: string;
  }

  export interface JanodeConfig {
    address: JanodeServerAddress | JanodeServerAddress[];
    /** janode's own retry loop; we retry ourselves, so we pass 0. */
    max_retries?: number;
    retry_time_secs?: number;
    is_admin?: boolean;
    ws_options?: Record<string, unknown>;
  }

  /** The reply to Janus's `info` request (only the fields we read). */
  export interface JanusServerInfo {
    janus: 'server_info';
    name: string;
    version: number;
    version_string: string;
    author?: string;
    plugins?: Record<string, { name: string; version_string: string }>;
    transports?: Record<string, { name: string; version_string: string }>;
  }

  export interface JanodeConnection extends EventEmitter {
    readonly id: number;
    getInfo(): Promise<JanusServerInfo>;
    /** Creates a Janus session kept alive by janode every ka_interval seconds. */
    create(ka_interval?: number): Promise<JanodeSession>;
    close(): Promise<void>;
    getRemoteHostname(): string | null;
  }

  export type JanodeLogLevel = 'none' | 'error' | 'warning' | 'info' | 'verbose' | 'debug';
  export interface JanodeLogger {
    setLevel(level: JanodeLogLevel): string;
    debug(...args: unknown[]): void;
    verbose(...args: unknown[]): void;
    info(...args: unknown[]): void;
    warning(...args: unknown[]): void;
    error(...args: unknown[]): void;
  }

  export interface JanodeSession extends EventEmitter {
    readonly id: number;
    attach<H>(plugin: { id: string; Handle: new (session: JanodeSession, id: number) => H }): Promise<H>;
    destroy(): Promise<void>;
  }

  export interface JanodeCoreEvents {
    CONNECTION_CLOSED: 'connection_closed';
    CONNECTION_ERROR: 'connection_error';
    SESSION_DESTROYED: 'session_destroyed';
    HANDLE_DETACHED: 'handle_detached';
    HANDLE_ICE_FAILED: 'handle_ice_failed';
    HANDLE_HANGUP: 'handle_hangup';
    HANDLE_MEDIA: 'handle_media';
    HANDLE_WEBRTCUP: 'handle_webrtcup';
  }

  const Janode: {
    connect(config: JanodeConfig, key?: number | string | null): Promise<JanodeConnection>;
    Logger: JanodeLogger;
    EVENT: JanodeCoreEvents;
  };
  export default Janode;
}

declare module 'janode/handle' {
  import { EventEmitter } from 'node:events';
  import type { JanodeSession } from 'janode';

  /** A message Janus sent on a handle, as janode hands it over (only the fields we read). */
  export interface JanusMessage {
    janus: string;
    transaction?: string;
    sender?: number;
    plugindata?: { plugin: string; data: Record<string, unknown> };
    jsep?: { type: 'offer' | 'answer'; sdp: string };
    reason?: string;
    error?: { code: number; reason: string };
  }

  /** janode's base plugin handle; plugins subclass it and override handleMessage. */
  export default class JanodeHandle extends EventEmitter {
    constructor(session: JanodeSession, id: number);
    readonly id: number;
    /** Returns truthy when the message was handled (janode then emits nothing more for it). */
    handleMessage(message: JanusMessage): unknown;
    ownsTransaction(id: string): boolean;
    closeTransactionWithSuccess(id: string, data: unknown): void;
    closeTransactionWithError(id: string, error: Error): void;
    sendRequest(request: Record<string, unknown>, timeout_ms?: number): Promise<JanusMessage>;
    detach(): Promise<void>;
    hangup(): Promise<void>;
  }
}
