// One agent's media in the thread that hosts its room (the agent's socket stays in the main thread): it
// hears the room's audio tracks it is subscribed to (an AgentListener on each track's Producer) and
// reports them in the agent's output format, and it publishes the agent's own tracks (an AgentTrack
// feeding a Producer of the room's Router per track), paced in real time. Each agent command is checked
// here against the bounds in agent-limits.ts; a refused one gets an `error` event and changes nothing.
// What it must not do: throw out of a command, let an agent publish under a track id someone else
// holds, or keep any state of another peer (the Router owns producers; it only adds and removes sinks).
import type { Logger } from '../../log/logger.js';
import type { ServerEndpointEvent } from '../../room/endpoint-events.js';
import type { AgentCommand, AgentOutput, MediaSession, MediaSessionHost, MediaSessionOptions } from '../../room/media-port.js';
import type { TrackInfo } from '../../room/track.js';
import type { Router } from '../sfu/router.js';
import { EXT_AUDIO_LEVEL, type Codec } from '../wire/sdp.js';
import { MAX_AGENT_TRACKS, MAX_AGENT_TRACK_ID } from './agent-limits.js';
import { AgentListener } from './agent-listener.js';
import { AGENT_AUDIO_LEVEL_EXT_ID, AGENT_OPUS_PT, AgentTrack, type AgentTrackEncoding } from './agent-track.js';
import { realClock, type PacerClock } from './frame-pacer.js';
import { OPUS_CLOCK_RATE, isOpusRate } from './opus-codec.js';

/** The codec of every agent track's Producer, as a browser offers Opus. */
const AGENT_CODEC: Codec = { payloadType: AGENT_OPUS_PT, name: 'opus', clockRate: OPUS_CLOCK_RATE, channels: 2, fmtp: 'minptime=10;useinbandfec=1', rtcpFb: [] };

export class AgentSession implements MediaSession {
  private readonly output: AgentOutput;
  private readonly listeners = new Map<string, AgentListener>();
  private readonly tracks = new Map<string, AgentTrack>();
  private closed = false;

  constructor(
    private readonly options: MediaSessionOptions,
    private readonly host: MediaSessionHost,
    private readonly router: Router,
    private readonly log: Logger,
    private readonly clock: PacerClock = realClock,
  ) {
    this.output = options.agent ?? { format: 'pcm16', sampleRate: 16000 };
    router.join();
  }

  // ---- what the agent hears ----

  subscribe(endpointId: string, tracks: TrackInfo[]): void {
    if (this.closed || !this.options.permissions.canSubscribe) return;
    for (const info of tracks) {
      if (info.type !== 'audio' || this.listeners.has(info.id)) continue;
      const producer = this.router.producer(info.id);
      if (!producer || producer.kind !== 'audio' || producer.peerId === this.options.peerId) continue;
      const listener: AgentListener = new AgentListener(
        endpointId,
        info.id,
        info.metadata,
        this.output,
        (audio) => this.host.agentAudio?.(audio),
        () => {
          if (this.listeners.get(info.id) === listener) this.listeners.delete(info.id);
        },
      );
      this.listeners.set(info.id, listener);
      producer.addSink(listener);
    }
  }

  unsubscribe(_endpointId: string, trackIds: string[]): void {
    for (const id of trackIds) {
      const listener = this.listeners.get(id);
      if (!listener) continue;
      this.router.producer(id)?.removeSink(listener);
      listener.close();
    }
  }

  trackEvent(_endpointId: string, track: TrackInfo, event: ServerEndpointEvent): void {
    if (event.type === 'trackUpdated') this.listeners.get(track.id)?.setMetadata(track.metadata);
  }

  // An agent negotiates nothing and receives no simulcast.
  setTargetVariant(): void {}
  requestNegotiation(): void {}
  handleOffer(): void {}

  // ---- what the agent sends ----

  agent(command: AgentCommand): void {
    if (this.closed) return;
    try {
      const refusal = this.carryOut(command);
      if (refusal) this.host.send({ type: 'error', message: refusal });
    } catch (err) {
      this.log.error({ err, command: command.type }, 'agent command failed');
      this.host.send({ type: 'error', message: `Agent request ${command.type} failed` });
    }
  }

  /** Outgoing tracks and their queued audio (for tests). */
  track(trackId: string): AgentTrack | undefined {
    return this.tracks.get(trackId);
  }

  private carryOut(c: AgentCommand): string | undefined {
    switch (c.type) {
      case 'addTrack':
        return this.addTrack(c);
      case 'removeTrack': {
        const track = this.tracks.get(c.trackId);
        if (!track) return `Track ${c.trackId} does not exist`;
        this.dropTrack(track);
        this.host.unpublished([c.trackId]);
        return undefined;
      }
      case 'trackData': {
        const track = this.tracks.get(c.trackId);
        if (!track) return `Track ${c.trackId} does not exist`;
        return track.push(c.data);
      }
      case 'interruptTrack': {
        const track = this.tracks.get(c.trackId);
        if (!track) return `Track ${c.trackId} does not exist`;
        track.interrupt();
        return undefined;
      }
    }
  }

  private addTrack(c: Extract<AgentCommand, { type: 'addTrack' }>): string | undefined {
    if (!this.options.permissions.canPublish) return 'Publishing is not allowed for this agent';
    if (typeof c.trackId !== 'string' || c.trackId.length === 0 || c.trackId.length > MAX_AGENT_TRACK_ID) {
      return `Track id must be 1 to ${MAX_AGENT_TRACK_ID} characters`;
    }
    if (this.tracks.has(c.trackId)) return `Track ${c.trackId} already exists`;
    if (this.tracks.size >= MAX_AGENT_TRACKS) return `An agent may have at most ${MAX_AGENT_TRACKS} tracks`;
    const owner = this.router.ownerOf(c.trackId);
    if (owner !== undefined && owner !== this.options.peerId) return `Track id ${c.trackId} is already in use`;
    if (c.channels !== 1 && c.channels !== 0) return `Track ${c.trackId}: only mono audio (channels: 1) is supported, got ${c.channels}`;
    let format: AgentTrackEncoding;
    if (c.encoding === 'opus') {
      format = { encoding: 'opus' };
    } else if (c.encoding === 'pcm16') {
      if (!isOpusRate(c.sampleRate)) return `Track ${c.trackId}: pcm16 sample rate must be 16000, 24000 or 48000, got ${c.sampleRate}`;
      format = { encoding: 'pcm16', sampleRate: c.sampleRate };
    } else {
      return `Track ${c.trackId}: encoding must be pcm16 or opus`;
    }
    const trackId = c.trackId;
    // PCM tracks carry their level, which subscribers that negotiated ssrc-audio-level receive.
    const extensions = format.encoding === 'pcm16' ? [{ id: AGENT_AUDIO_LEVEL_EXT_ID, uri: EXT_AUDIO_LEVEL }] : [];
    const producer = this.router.produce({ trackId, peerId: this.options.peerId, kind: 'audio', codec: AGENT_CODEC, rids: [] }, { sendPli: () => {}, extensions });
    this.tracks.set(trackId, new AgentTrack(trackId, format, producer, this.clock, (status) => this.host.voiceActivity(trackId, status)));
    this.host.published([{ id: c.trackId, type: 'audio', metadata: c.metadata ?? null, simulcast: { enabled: false, active: ['h'], disabled: [] } }]);
    return undefined;
  }

  private dropTrack(track: AgentTrack): void {
    this.tracks.delete(track.trackId);
    track.close();
    const producer = this.router.producer(track.trackId);
    if (producer && producer.peerId === this.options.peerId) this.router.closeProducer(producer);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const track of [...this.tracks.values()]) this.dropTrack(track);
    for (const id of [...this.listeners.keys()]) this.unsubscribe('', [id]);
    this.router.leave();
  }
}
