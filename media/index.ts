// The media layer's public surface; other folders import from here only.
export {
  createDisabledEngine,
  MediaUnavailableError,
  type AudioMix,
  type MediaEngine,
  type MediaEngineState,
  type MediaHealth,
  type MediaNodeStatus,
  type MediaRoom,
  type RecordingFile,
  type RoomOptions,
  type RtpJoin,
  type RtpLegInfo,
  type VideoPublish,
  type VideoSource,
  type VideoSubscription,
  type WebrtcJoin,
} from './engine.js';
export { JanusRequestError, JANUS_CLIENT_DEFAULTS, type JanusClientOptions, type JanusConnectionState } from './janus/client.js';
export { createJanusEngine, type JanusEngine, type JanusEngineOptions } from './janus/engine.js';
export { JanusPluginError } from './janus/plugin-handle.js';
export {
  startJanusProcess,
  JANUS_PROCESS_DEFAULTS,
  type JanusProcess,
  type JanusProcessState,
  type StartJanusOptions,
} from './janus-process.js';
export { startMedia, type Media } from './start.js';
