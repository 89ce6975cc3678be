// Types for the parts of the untyped npm package `sip` (kirm/sip.js 0.0.6) that the bridge uses.
declare module 'sip' {
  export interface SipUri {
    schema?: string;
    user?: string;
    password?: string;
    host: string;
    port?: number;
    params: Record<string, string | null | undefined>;
    headers?: Record<string, string>;
  }

  export interface NameAddr {
    name?: string;
    uri: string;
    params: Record<string, string | null | undefined>;
  }

  export interface Via {
    version?: string;
    protocol?: string;
    host: string;
    port?: number;
    params: Record<string, string | number | null | undefined>;
  }

  export interface CSeq {
    seq: number;
    method: string;
  }

  export interface AuthHeader {
    scheme: string;
    [param: string]: string | undefined;
  }

  export interface SipHeaders {
    via?: Via[];
    to?: NameAddr;
    from?: NameAddr;
    'call-id'?: string;
    cseq?: CSeq;
    contact?: NameAddr[] | '*';
    route?: NameAddr[];
    'record-route'?: NameAddr[];
    'content-type'?: string;
    'content-length'?: number;
    authorization?: AuthHeader[];
    'www-authenticate'?: AuthHeader[];
    'max-forwards'?: number | string;
    [name: string]: unknown;
  }

  export interface SipRequest {
    method: string;
    uri: string;
    version?: string;
    headers: SipHeaders;
    content?: string;
  }

  export interface SipResponse {
    status: number;
    reason: string;
    version?: string;
    headers: SipHeaders;
    content?: string;
  }

  export type SipMessage = SipRequest | SipResponse;

  export interface Remote {
    protocol: string;
    address: string;
    port: number;
    local?: { address: string; port: number };
  }

  export interface StackOptions {
    address?: string;
    port?: number;
    publicAddress?: string;
    hostname?: string;
    udp?: boolean;
    tcp?: boolean;
    /** TLS server (and client) options; the TLS listener is on tls_port (default 5061). */
    tls?: { key: string | Buffer; cert: string | Buffer; [option: string]: unknown };
    tls_port?: number;
    rport?: boolean;
    maxBytesHeaders?: number;
    maxContentLength?: number;
    logger?: {
      send?: (m: SipMessage, target: Remote) => void;
      recv?: (m: SipMessage, remote: Remote) => void;
      error?: (e: unknown) => void;
    };
  }

  export interface SipStack {
    /** Requests start a client transaction (callback gets each response); responses go to their server transaction. */
    send(m: SipRequest | SipResponse, callback?: (rs: SipResponse) => void): void;
    hostname(): string;
    /** A URI naming a transport flow; as the top Route it makes the stack send there (and strips it). */
    encodeFlowUri(flow: Remote & { local: { address: string; port: number } }): SipUri;
    destroy(): void;
  }

  export function create(options: StackOptions, onRequest: (rq: SipRequest, remote: Remote) => void): SipStack;
  export function makeResponse(rq: SipRequest, status: number, reason?: string, extension?: { headers?: Record<string, unknown>; content?: string }): SipResponse;
  export function parseUri(s: string): SipUri;
  export function stringifyUri(u: SipUri | string): string;
  export function stringify(m: SipMessage): string;
  export function parse(s: string | Buffer): SipMessage | undefined;
  export function generateBranch(): string;
  export function parseAOR(data: { s: string; i: number }): NameAddr;
}
