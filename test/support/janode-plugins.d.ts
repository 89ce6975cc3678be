// Types for the janode plugin descriptors tests drive directly (the product goes through
// media/janus/). Read from node_modules/janode/src/plugins/audiobridge-plugin.js; only what tests use.
declare module 'janode/plugins/audiobridge' {
  import JanodeHandle from 'janode/handle';
  import type { JanodeSession } from 'janode';

  type Id = string | number;
  export interface Jsep {
    type: 'offer' | 'answer';
    sdp: string;
  }

  export class AudioBridgeHandle extends JanodeHandle {
    feed: Id | null;
    room: Id | null;
    create(params: {
      room: Id;
      description?: string;
      permanent?: boolean;
      sampling_rate?: number;
      is_private?: boolean;
      record?: boolean;
      filename?: string;
      rec_dir?: string;
      allow_rtp?: boolean;
      groups?: string[];
    }): Promise<{ room: Id; permanent: boolean }>;
    destroy(params: { room: Id; permanent?: boolean; secret?: string }): Promise<{ room: Id; permanent: boolean }>;
    exists(params: { room: Id }): Promise<{ room: Id; exists: boolean }>;
    join(params: {
      room: Id;
      feed?: Id;
      display?: string;
      muted?: boolean;
      record?: boolean;
      filename?: string;
      group?: string;
      codec?: 'opus' | 'pcma' | 'pcmu';
    }): Promise<{ room: Id; feed: Id; participants: Array<{ feed: Id; display?: string; muted?: boolean; setup?: boolean }> }>;
    configure(params: { display?: string; muted?: boolean; volume?: number; record?: boolean; filename?: string; jsep?: Jsep | null }): Promise<{
      room: Id;
      feed: Id;
      jsep?: Jsep;
    }>;
    listParticipants(params: { room: Id }): Promise<{ room: Id; participants: Array<{ feed: Id; display?: string; muted?: boolean; setup?: boolean; talking?: boolean }> }>;
    leave(): Promise<{ room: Id; feed: Id }>;
  }

  const AudioBridgePlugin: {
    id: string;
    Handle: new (session: JanodeSession, id: number) => AudioBridgeHandle;
    EVENT: Record<string, string>;
  };
  export default AudioBridgePlugin;
}
