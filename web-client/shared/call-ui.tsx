// Call UI shared by the widget, the agent softphone and the supervisor view: the sessions of a page,
// the call panel (incoming call / call bar with mute, hold, camera, screen share, hang up), video tiles,
// remote audio, the recording notice and the ringer. The WebRTC work is in ./call.ts.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { MediaView } from '../../protocol/events.js';
import {
  createCallSession,
  type CallCloseReason,
  type CallSession,
  type CallSignal,
  type MonitorSession,
  type VideoTileInfo,
} from './call';

declare global {
  interface Window {
    /** True while the ringer sounds (an incoming call or call offer). */
    __mccsRinging?: boolean;
  }
}

// ---- sessions -------------------------------------------------------------------------------

/** Re-renders the component whenever the session reports a change. */
export function useSession(session: CallSession | MonitorSession | null): void {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!session) return;
    const rerender = () => setTick((t) => t + 1);
    // The two session classes share the event names; one cast keeps the union callable.
    const s = session as CallSession;
    const offChange = s.on('change', rerender);
    const offClose = s.on('close', rerender);
    return () => {
      offChange();
      offClose();
    };
  }, [session]);
}

export interface CallBook {
  get(taskId: string): CallSession | null;
  /** The open sessions. */
  all(): CallSession[];
  /** The session for the view's task: a new one, or the open one updated with the view and the signal. */
  open(view: MediaView, signal: CallSignal): CallSession;
  close(taskId: string, reason: CallCloseReason): void;
  closeAll(reason: CallCloseReason): void;
}

/**
 * The calls of one page, keyed by task. Re-renders the owner on every change of any session; sessions
 * are closed when the owner unmounts.
 */
export function useCallBook(
  self: 'customer' | 'agent',
  handlers: { onClose?: (taskId: string, reason: CallCloseReason) => void; onWarning?: (taskId: string, message: string) => void } = {},
): CallBook {
  const mapRef = useRef(new Map<string, CallSession>());
  const handlersRef = useRef(handlers);
  handlersRef.current = handlers;
  const [, setTick] = useState(0);
  const book = useMemo<CallBook>(() => {
    const map = mapRef.current;
    const rerender = () => setTick((t) => t + 1);
    return {
      get: (taskId) => {
        const s = map.get(taskId);
        return s && !s.closed ? s : null;
      },
      all: () => [...map.values()].filter((s) => !s.closed),
      open(view, signal) {
        const existing = map.get(view.taskId);
        if (existing && !existing.closed) {
          existing.update(view);
          existing.useSignal(signal);
          return existing;
        }
        const s = createCallSession({ view, self, signal });
        map.set(view.taskId, s);
        s.on('change', rerender);
        s.on('warning', (message) => handlersRef.current.onWarning?.(s.taskId, message));
        s.on('close', (reason) => {
          if (map.get(s.taskId) === s) map.delete(s.taskId);
          rerender();
          handlersRef.current.onClose?.(s.taskId, reason);
        });
        rerender();
        return s;
      },
      close(taskId, reason) {
        map.get(taskId)?.close(reason);
      },
      closeAll(reason) {
        for (const s of [...map.values()]) s.close(reason);
      },
    };
  }, [self]);
  useEffect(() => () => book.closeAll('left'), [book]);
  return book;
}

// ---- ringer ---------------------------------------------------------------------------------

let ringContext: AudioContext | null = null;
let ringUsers = 0;
let ringTimer: number | null = null;

function beep(ctx: AudioContext): void {
  // Two short tone bursts (a familiar "ring-ring"), quiet enough for a headset.
  const start = ctx.currentTime + 0.02;
  for (const offset of [0, 0.5]) {
    const gain = ctx.createGain();
    gain.gain.setValueAtTime(0, start + offset);
    gain.gain.linearRampToValueAtTime(0.15, start + offset + 0.03);
    gain.gain.setValueAtTime(0.15, start + offset + 0.35);
    gain.gain.linearRampToValueAtTime(0, start + offset + 0.4);
    gain.connect(ctx.destination);
    for (const freq of [440, 480]) {
      const osc = ctx.createOscillator();
      osc.frequency.value = freq;
      osc.connect(gain);
      osc.start(start + offset);
      osc.stop(start + offset + 0.42);
    }
  }
}

function startRing(): void {
  ringUsers += 1;
  window.__mccsRinging = true;
  if (ringTimer !== null) return;
  try {
    const Ctx = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (!Ctx) return;
    ringContext ??= new Ctx();
    const ctx = ringContext;
    void ctx.resume().catch(() => undefined);
    beep(ctx);
    ringTimer = window.setInterval(() => beep(ctx), 2_500);
  } catch {
    /* no audio output: the visual cue remains */
  }
}

function stopRing(): void {
  ringUsers = Math.max(0, ringUsers - 1);
  if (ringUsers > 0) return;
  window.__mccsRinging = false;
  if (ringTimer !== null) window.clearInterval(ringTimer);
  ringTimer = null;
  void ringContext?.suspend().catch(() => undefined);
}

/** Rings (a short beep pair every 2.5 s) while `active`. */
export function useRinger(active: boolean): void {
  useEffect(() => {
    if (!active) return;
    startRing();
    return stopRing;
  }, [active]);
}

// ---- media elements -------------------------------------------------------------------------

/** Plays a remote audio stream; if the browser blocks autoplay, offers a button to turn sound on. */
export function RemoteAudio(props: { stream: MediaStream | null; testId: string; label: string }) {
  const ref = useRef<HTMLAudioElement>(null);
  const [blocked, setBlocked] = useState(false);

  function play() {
    const el = ref.current;
    if (!el || !props.stream) return;
    el.play().then(
      () => setBlocked(false),
      (err: unknown) => setBlocked(err instanceof DOMException && err.name === 'NotAllowedError'),
    );
  }

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (el.srcObject !== props.stream) el.srcObject = props.stream;
    if (props.stream) play();
  }, [props.stream]);

  return (
    <>
      <audio ref={ref} autoPlay data-testid={props.testId} aria-label={props.label} />
      {blocked && (
        <button type="button" class="secondary" onClick={play} data-testid={`${props.testId}-enable`}>
          Turn on call sound
        </button>
      )}
    </>
  );
}

function Video(props: { stream: MediaStream | null; mirror?: boolean; testId: string; label: string }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (el.srcObject !== props.stream) el.srcObject = props.stream;
    if (props.stream) void el.play().catch(() => undefined);
  }, [props.stream]);
  // Video elements are muted: call audio arrives on the audio leg.
  return (
    <video
      ref={ref}
      autoPlay
      playsInline
      muted
      class={props.mirror ? 'video--mirror' : undefined}
      data-testid={props.testId}
      aria-label={props.label}
    />
  );
}

function tileLabel(t: VideoTileInfo, peerName: string): string {
  return t.source === 'screen' ? `Screen shared by ${peerName}` : `Video of ${peerName}`;
}

/** Remote feeds first (the other party's camera, a shared screen), then the local previews. */
export function VideoTiles(props: { session: CallSession; peerName: string }) {
  const s = props.session;
  const camera = s.localVideo('camera');
  const screen = s.localVideo('screen');
  const tiles = s.tiles;
  if (tiles.length === 0 && !camera && !screen) return null;
  return (
    <div class="video-grid" data-testid="call-videos">
      {tiles.map((t) => (
        <figure
          class={`video-tile${t.source === 'screen' ? ' video-tile--screen' : ''}`}
          key={t.feedId}
          data-testid="call-video-tile"
          data-feed-id={t.feedId}
          data-source={t.source}
          data-owner={t.owner}
          data-live={t.stream ? 'true' : 'false'}
        >
          <Video stream={t.stream} testId="call-remote-video" label={tileLabel(t, props.peerName)} />
          <figcaption>{t.stream ? tileLabel(t, props.peerName) : 'Connecting video…'}</figcaption>
        </figure>
      ))}
      {camera && (
        <figure class="video-tile video-tile--self" data-testid="call-local-tile" data-source="camera">
          <Video stream={camera} mirror testId="call-local-video" label="Your camera" />
          <figcaption>You</figcaption>
        </figure>
      )}
      {screen && (
        <figure class="video-tile video-tile--self" data-testid="call-local-tile" data-source="screen">
          <Video stream={screen} testId="call-local-screen" label="Your shared screen" />
          <figcaption>Your screen</figcaption>
        </figure>
      )}
    </div>
  );
}

/** Told to the customer before and while the call: recording is on. */
export function RecordingNotice(props: { audience: 'customer' | 'staff'; beforeJoin?: boolean }) {
  return (
    <p class="notice notice--warn call-recording" role="note" data-testid="call-recording-notice">
      <span aria-hidden="true">● </span>
      {props.audience === 'staff'
        ? 'This call is being recorded.'
        : props.beforeJoin
          ? 'This call will be recorded for quality and training. If you do not want to be recorded, decline and keep chatting.'
          : 'This call is being recorded for quality and training.'}
    </p>
  );
}

// ---- the call panel -------------------------------------------------------------------------

function statusText(s: CallSession, peerName: string, holdNotCharged: boolean): string {
  const kind = s.video ? 'video call' : 'call';
  switch (s.state) {
    case 'idle':
      return s.startedBy === s.self ? `Your ${kind} with ${peerName} is in progress.` : `${peerName} is inviting you to a ${kind}.`;
    case 'joining':
      return 'Connecting the call…';
    case 'failed':
      return `The call could not be connected: ${s.error ?? 'unknown error'}`;
    case 'ended':
      return 'The call has ended.';
    case 'active':
      // On hold the agent's side hears nothing on purpose: say so, whatever the connection does.
      if (s.held && (s.connection === 'connected' || s.connection === 'new' || s.connection === 'connecting')) {
        return s.self === 'customer'
          ? `You are on hold. ${peerName} will be back with you shortly.${holdNotCharged ? ' You are not charged while on hold.' : ''}`
          : `${peerName} is on hold and hears music. Resume to talk again.`;
      }
      switch (s.connection) {
        case 'connected':
          return `In a ${kind} with ${peerName}${s.muted ? ' — your microphone is muted' : ''}.`;
        case 'disconnected':
          return 'The connection is unstable — trying to recover…';
        case 'failed':
          return 'The call lost its connection. Hang up and try again.';
        default:
          return 'Connecting the call…';
      }
  }
}

function CallTimer(props: { since: number; testId?: string; label?: string }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, []);
  const secs = Math.max(0, Math.floor((now - props.since) / 1000));
  const text = `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}`;
  return (
    <span class="countdown" data-testid={props.testId ?? 'call-duration'} aria-label={`${props.label ?? 'Call time'} ${text}`}>
      {text}
    </span>
  );
}

/**
 * The whole call of one task: an invitation with Join/Decline, then the call bar (mute, camera, share
 * screen, hang up), the video tiles and the remote audio. Rings while an invitation waits if `ring`.
 */
export function CallPanel(props: {
  session: CallSession;
  /** Who is on the other end, as shown: "Alex", "the agent". */
  peerName: string;
  audience: 'customer' | 'staff';
  canShareScreen?: boolean;
  ring?: boolean;
  /** The customer pays for this call by the minute, but not for time on hold: say so on hold. */
  holdNotCharged?: boolean;
}) {
  const s = props.session;
  useSession(s);
  const [connectedAt, setConnectedAt] = useState<number | null>(null);
  const connected = s.state === 'active' && s.connection === 'connected';
  useEffect(() => {
    if (connected && connectedAt === null) setConnectedAt(Date.now());
  }, [connected]);
  const invited = s.state === 'idle' && s.startedBy !== s.self;
  useRinger(Boolean(props.ring) && invited);
  if (s.closed) return null;

  const inCall = s.state === 'active' || s.state === 'joining';
  const screenSupported = typeof navigator.mediaDevices?.getDisplayMedia === 'function';
  const kind = s.video ? 'Video call' : 'Audio call';

  return (
    <section
      class={`call${invited ? ' call--incoming' : ''}`}
      data-testid="call-panel"
      data-task-id={s.taskId}
      data-state={s.state}
      data-connection={s.connection}
      data-video={s.video ? 'true' : 'false'}
      aria-label={kind}
    >
      <div class="call__status">
        <span class="badge badge--call">{kind}</span>
        <span role="status" aria-live="polite" data-testid="call-status" data-state={s.state}>
          {statusText(s, props.peerName, Boolean(props.holdNotCharged))}
        </span>
        {connectedAt !== null && s.state === 'active' && <CallTimer since={connectedAt} />}
        {s.coaching && (
          <span class="badge badge--coach" role="status" data-testid="call-coach-indicator">
            Supervisor whispering
          </span>
        )}
        {s.held && (
          <span class="badge badge--hold" role="status" data-testid="call-hold-indicator" style={{ background: 'var(--warn-soft)', color: 'var(--warn)' }}>
            On hold {s.heldSince !== null && <CallTimer since={s.heldSince} testId="call-hold-duration" label="On hold for" />}
          </span>
        )}
      </div>

      {s.recording && (props.audience === 'customer' || s.state !== 'idle') && <RecordingNotice audience={props.audience} beforeJoin={invited} />}

      {(s.state === 'idle' || s.state === 'failed') && (
        <div class="row call__actions">
          <button type="button" class="ok" onClick={() => void s.join()} data-testid="call-join">
            {s.state === 'failed' ? 'Try again' : s.startedBy === s.self ? 'Rejoin call' : s.video ? 'Join video call' : 'Join call'}
          </button>
          <button
            type="button"
            class="danger"
            disabled={s.isBusy('hangup')}
            onClick={() => void (invited ? s.decline() : s.hangup())}
            data-testid={invited ? 'call-decline' : 'call-hangup'}
          >
            {invited ? 'Decline' : 'Hang up'}
          </button>
        </div>
      )}

      {inCall && (
        <div class="row call__actions" role="group" aria-label="Call controls">
          <button
            type="button"
            class={`secondary${s.muted ? ' is-on' : ''}`}
            aria-pressed={s.muted}
            onClick={() => void s.setMuted(!s.muted)}
            data-testid="call-mute"
          >
            Mute
          </button>
          {s.canHold && (
            <button
              type="button"
              class={`secondary${s.held ? ' is-on' : ''}`}
              aria-pressed={s.held}
              disabled={s.isBusy('hold')}
              title={s.held ? 'Take the call back' : 'Put the customer on hold: neither of you hears the other, they hear music'}
              onClick={() => void s.hold(!s.held)}
              data-testid="call-hold"
            >
              {s.isBusy('hold') ? (s.held ? 'Resuming…' : 'Holding…') : s.held ? 'Resume' : 'Hold'}
            </button>
          )}
          {s.video && s.state === 'active' && (
            <button
              type="button"
              class={`secondary${s.publishing('camera') ? ' is-on' : ''}`}
              aria-pressed={s.publishing('camera')}
              onClick={() => void (s.publishing('camera') ? s.stopCamera() : s.startCamera())}
              data-testid="call-camera"
            >
              Camera
            </button>
          )}
          {props.canShareScreen && s.video && s.state === 'active' && screenSupported && (
            <button
              type="button"
              class={`secondary${s.publishing('screen') ? ' is-on' : ''}`}
              aria-pressed={s.publishing('screen')}
              onClick={() => void (s.publishing('screen') ? s.stopScreenShare() : s.startScreenShare())}
              data-testid="call-share-screen"
            >
              Share screen
            </button>
          )}
          <span class="spacer" />
          <button
            type="button"
            class="danger"
            disabled={s.isBusy('hangup')}
            onClick={() => void s.hangup()}
            data-testid="call-hangup"
          >
            {s.isBusy('hangup') ? 'Hanging up…' : 'Hang up'}
          </button>
        </div>
      )}

      {s.state === 'active' && (
        <>
          <RemoteAudio stream={s.remoteAudio} testId="call-remote-audio" label={`Call audio from ${props.peerName}`} />
          {s.coachAudio && <RemoteAudio stream={s.coachAudio} testId="call-coach-audio" label="Supervisor whisper" />}
          <VideoTiles session={s} peerName={props.peerName} />
        </>
      )}
    </section>
  );
}

/** Two buttons that start a call: an audio call and a video call. */
export function StartCallButtons(props: { busy: boolean; disabled?: boolean; onStart: (video: boolean) => void; note?: string }) {
  return (
    <div class="row call-start" role="group" aria-label="Start a call">
      <button
        type="button"
        class="secondary"
        disabled={props.busy || props.disabled}
        onClick={() => props.onStart(false)}
        data-testid="call-audio"
      >
        Audio call
      </button>
      <button
        type="button"
        class="secondary"
        disabled={props.busy || props.disabled}
        onClick={() => props.onStart(true)}
        data-testid="call-video"
      >
        Video call
      </button>
      {props.note && <span class="muted small">{props.note}</span>}
    </div>
  );
}

/** The end of a call as a sentence for a notice. */
export function describeCallEnd(reason: CallCloseReason): string | null {
  switch (reason) {
    case 'hangup':
      return 'The call has ended.';
    case 'declined':
      return 'You declined the call.';
    case 'media_lost':
      return 'The call was cut off: the connection was lost.';
    case 'media_unavailable':
      return 'Calls are not available right now. Please try again later.';
    case 'transferred':
      return 'The call was transferred.';
    case 'balance_exhausted':
      return 'The call has ended: the prepaid balance ran out.';
    case 'task_ended':
    case 'left':
      return null;
  }
}
