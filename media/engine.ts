// The media seam: the rest of the server sees a MediaEngine, never janode or Janus names. Today it
// only reports health; rooms, joins, recording and monitoring grow here.

export type MediaEngineState = 'up' | 'down' | 'disabled';

export interface MediaHealth {
  state: MediaEngineState;
  /** Why it is down or disabled, or where it runs; one line, safe to show an operator. */
  detail?: string;
  /** The media server's own version string, when up. */
  version?: string;
}

export interface MediaEngine {
  /** Never rejects: a failing media server is reported as 'down'. */
  health(): Promise<MediaHealth>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** For MCCS_JANUS=off, or when Janus is not installed: chat works, calls do not. */
export function createDisabledEngine(detail = 'media server disabled'): MediaEngine {
  return {
    health: () => Promise.resolve({ state: 'disabled', detail }),
    close: () => Promise.resolve(),
  };
}
