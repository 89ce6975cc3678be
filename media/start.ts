// The media layer as the composition root sees it: one call that starts (or skips) the Janus child
// and returns the matching engine, so the mode rules live here and not in app.ts.
import type { Config } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';
import { createDisabledEngine, type MediaEngine, type MediaHealth } from './engine.js';
import { createJanusEngine } from './janus/engine.js';
import { startJanusProcess, type JanusProcess } from './janus-process.js';

export interface Media {
  engine: MediaEngine;
  janusProcess: JanusProcess;
  /** Closes the engine, then stops the Janus child if we started one. Idempotent. */
  close(): Promise<void>;
}

export async function startMedia(opts: { janus: Config['janus']; dataDir: string; logger: Logger }): Promise<Media> {
  const janusProcess = await startJanusProcess(opts);
  let engine: MediaEngine;
  if (janusProcess.state === 'starting') {
    // Our own child listens on loopback at wsPort, whatever MCCS_JANUS_WS_URL says.
    // Connecting before the port is open would only log a failed attempt.
    const inner = createJanusEngine({
      wsUrl: `ws://127.0.0.1:${opts.janus.wsPort}`,
      logger: opts.logger,
      startAfter: janusProcess.settled(),
    });
    engine = {
      ...bindAll(inner),
      // When the child has died, say so: "connection refused" alone would send an operator the wrong way.
      async health(): Promise<MediaHealth> {
        const h = await inner.health();
        if (h.state === 'up' || janusProcess.state === 'running' || janusProcess.state === 'starting') return h;
        return { ...h, detail: `Janus process ${janusProcess.state}: ${janusProcess.detail}` };
      },
    };
  } else if (janusProcess.state === 'external') {
    const [wsUrl = opts.janus.wsUrl, ...moreWsUrls] = opts.janus.wsUrl.split(',').map((u) => u.trim());
    engine = createJanusEngine({ wsUrl, moreWsUrls, logger: opts.logger });
  } else {
    // off, not installed, or could not start (port taken): chat works, calls report why they cannot.
    engine = createDisabledEngine(janusProcess.detail);
  }
  let closing: Promise<void> | undefined;
  return {
    engine,
    janusProcess,
    close: () => (closing ??= engine.close().then(() => janusProcess.close())),
  };
}

/** The engine's methods as plain functions, so one can be replaced in a spread. */
function bindAll(engine: MediaEngine): MediaEngine {
  return {
    health: () => engine.health(),
    nodes: () => engine.nodes(),
    createRoom: (o) => engine.createRoom(o),
    openRoom: (o) => engine.openRoom(o),
    room: (id) => engine.room(id),
    close: () => engine.close(),
  };
}
