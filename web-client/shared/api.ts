// JSON over fetch for the HTTP API. Failures become ApiError with the server's stable error code
// (`{ error: { code, message }, requestId }`), or NETWORK when the server cannot be reached.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface ErrorBody {
  error?: { code?: unknown; message?: unknown };
  requestId?: unknown;
}

export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, token?: string | null): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'NETWORK', 'Cannot reach the server. Check your connection and try again.');
  }
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (!res.ok) {
    const e = (parsed ?? {}) as ErrorBody;
    const code = typeof e.error?.code === 'string' ? e.error.code : `HTTP_${res.status}`;
    const message = typeof e.error?.message === 'string' ? e.error.message : res.statusText || 'Request failed';
    throw new ApiError(res.status, code, message, typeof e.requestId === 'string' ? e.requestId : undefined);
  }
  return parsed as T;
}

/** A short text for an error caught from api() or a socket request, fit to show to the user. */
export function describeError(err: unknown): string {
  if (err instanceof Error && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return `${err.message} (${(err as { code: string }).code})`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
