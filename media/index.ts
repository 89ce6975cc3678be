// The media layer's public surface; other folders import from here only.
export { createDisabledEngine, type MediaEngine, type MediaEngineState, type MediaHealth } from './engine.js';
export {
  createJanusEngine,
  JanusRequestError,
  JANUS_CLIENT_DEFAULTS,
  type JanusClientOptions,
  type JanusConnectionState,
  type JanusEngine,
} from './janus/client.js';
export {
  startJanusProcess,
  JANUS_PROCESS_DEFAULTS,
  type JanusProcess,
  type JanusProcessState,
  type StartJanusOptions,
} from './janus-process.js';
export { startMedia, type Media } from './start.js';
