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

  export interface JanodeCoreEvents {
    CONNECTION_CLOSED: 'connection_closed';
    CONNECTION_ERROR: 'connection_error';
    SESSION_DESTROYED: 'session_destroyed';
    HANDLE_DETACHED: 'handle_detached';
  }

  const Janode: {
    connect(config: JanodeConfig, key?: number | string | null): Promise<JanodeConnection>;
    Logger: JanodeLogger;
    EVENT: JanodeCoreEvents;
  };
  export default Janode;
}
