// Per-track and per-peer media quality as a media thread reports it (MediaPlane.quality()): the bitrate
// of each published track (bytes its producer received) and of each forwarded one (bytes its consumer
// sent, and of those resent), the loss and jitter subscribers report for what they receive, whether the
// allocator paused it and which simulcast layer it gets, and each subscriber's round-trip time and
// downlink bandwidth estimate. Defines the bounded snapshot, the bitrate meters and the collector that
// caps it, and the merge of several threads' snapshots. What it must not do: run on the packet path
// (producers and consumers only add to plain byte counters; everything here happens once per scrape), or
// hold anything after a scrape but the meters' last samples (which go with their consumer).

export type TrackDirection = 'in' | 'out';

export interface TrackQuality {
  roomId: string;
  /** The publisher for 'in', the subscriber for 'out'. */
  peerId: string;
  trackId: string;
  direction: TrackDirection;
  /** Bits per second over the time since the previous sample (at least MIN_SAMPLE_MS apart). */
  bitrate: number;
  /** From the subscriber's latest receiver report ('out' only, once one arrived): fraction lost 0..1. */
  lossRatio?: number;
  /** Cumulative packets lost, as the subscriber reports it. */
  lost?: number;
  /** Interarrival jitter in seconds. */
  jitterSeconds?: number;
  /** 'out' video only: the subscriber's bandwidth allocator paused it (nothing is forwarded). */
  paused?: boolean;
  /** 'out' simulcast only: the layer forwarded now (LAYER_INDEX: 0 = l, 1 = m, 2 = h); absent while paused or before the first keyframe. */
  layer?: number;
  /** 'out' simulcast only: the layer the client asked for (the allocator never goes above it). */
  targetLayer?: number;
  /** 'out' only: bits per second of retransmissions (NACKed packets resent, RTX or not) since the previous sample. */
  retransmitBitrate?: number;
}

/** Simulcast layers as gauge values (a value, not a label: a layer switch changes no series). */
export const LAYER_INDEX: Record<'l' | 'm' | 'h', number> = { l: 0, m: 1, h: 2 };

export interface PeerQuality {
  roomId: string;
  peerId: string;
  /** Latest round-trip time measured from the peer's receiver reports (LSR/DLSR of Shoal's sender reports); absent until one. */
  rttSeconds?: number;
  /** The peer's downlink bandwidth estimate (bits/s, from its transport-cc feedback); absent until its first feedback. */
  downlinkEstimateBits?: number;
}

export interface QualitySnapshot {
  tracks: TrackQuality[];
  peers: PeerQuality[];
  /** Tracks and peers left out because the snapshot was full. */
  droppedTracks: number;
  droppedPeers: number;
  /** Video tracks paused by subscribers' allocators right now (all of them, also those left out of `tracks`). */
  pausedTracks: number;
}

/** At most this many tracks and peers in one snapshot (the label sets a scrape exports). */
export interface QualityLimits {
  tracks: number;
  peers: number;
}

export const DEFAULT_QUALITY_LIMITS: QualityLimits = { tracks: 1000, peers: 1000 };

/** A bitrate is measured over at least this long (scrapes closer together see the previous value). */
export const MIN_SAMPLE_MS = 1000;

export function emptyQualitySnapshot(): QualitySnapshot {
  return { tracks: [], peers: [], droppedTracks: 0, droppedPeers: 0, pausedTracks: 0 };
}

/** Turns a running byte total into bits per second between samples. Sampled only at scrape time. */
export class BitrateMeter {
  private sampleBytes = 0;
  private sampleAt: number;
  private sampled = false;
  private bps = 0;

  /** `startBytes`: the running total at `now` (a meter made late measures only what follows). */
  constructor(now = performance.now(), startBytes = 0) {
    this.sampleAt = now;
    this.sampleBytes = startBytes;
  }

  /** Bits/s of `bytes` (the running total) since the last sample; the previous value if that was under MIN_SAMPLE_MS ago. */
  sample(bytes: number, now = performance.now()): number {
    const dt = now - this.sampleAt;
    if (this.sampled && dt < MIN_SAMPLE_MS) return this.bps;
    if (dt > 0) this.bps = ((bytes - this.sampleBytes) * 8000) / dt;
    if (dt >= MIN_SAMPLE_MS) {
      // Too young for a full window, the first sample is an average since creation and moves nothing.
      this.sampleBytes = bytes;
      this.sampleAt = now;
      this.sampled = true;
    }
    return this.bps;
  }
}

/** What the collector keeps per peer: the latest RTT (and when it was measured) and the downlink estimate. */
interface PeerEntry {
  roomId: string;
  peerId: string;
  rttSeconds?: number;
  rttAt: number;
  downlinkEstimateBits?: number;
}

/** Meters of retransmitted bytes, one per owner (a consumer), made at its first scrape; they go with the owner. */
const retransmitMeters = new WeakMap<object, BitrateMeter>();

/** Bits/s of `owner`'s retransmissions (`bytes`: its running total) between scrapes at `now`. */
export function sampleRetransmits(owner: object, bytes: number, now: number): number {
  let meter = retransmitMeters.get(owner);
  if (!meter) retransmitMeters.set(owner, (meter = new BitrateMeter(now, bytes)));
  return meter.sample(bytes, now);
}

/** Gathers one thread's snapshot, refusing what does not fit (counted, never built). */
export class QualityCollector {
  private readonly tracks: TrackQuality[] = [];
  private readonly peers = new Map<string, PeerEntry>();
  private droppedTracks = 0;
  /** Peers left out (a peer has several streams: counted once). */
  private readonly droppedPeers = new Set<string>();
  private pausedTracks = 0;

  constructor(
    private readonly limits: QualityLimits,
    readonly now = performance.now(),
  ) {}

  /** May one more track be added? False counts it as dropped. */
  roomForTrack(): boolean {
    if (this.tracks.length < this.limits.tracks) return true;
    this.droppedTracks++;
    return false;
  }

  track(t: TrackQuality): void {
    this.tracks.push(t);
  }

  /** One more video track paused by its allocator (counted whether or not its series fit). */
  pausedTrack(): void {
    this.pausedTracks++;
  }

  /** A round-trip time measured at `at` for the peer; the latest of its streams' measurements wins. */
  rtt(roomId: string, peerId: string, rttSeconds: number, at: number): void {
    const entry = this.peer(roomId, peerId);
    if (entry && (entry.rttSeconds === undefined || at > entry.rttAt)) Object.assign(entry, { rttSeconds, rttAt: at });
  }

  /** The peer's downlink estimate (one per transport: every stream of the peer reports the same one). */
  downlinkEstimate(roomId: string, peerId: string, bits: number): void {
    const entry = this.peer(roomId, peerId);
    if (entry) entry.downlinkEstimateBits = bits;
  }

  /** The peer's entry, made if there is room (else undefined, counted once per peer left out). */
  private peer(roomId: string, peerId: string): PeerEntry | undefined {
    const key = `${roomId}\u0000${peerId}`;
    const seen = this.peers.get(key);
    if (seen) return seen;
    if (this.peers.size >= this.limits.peers) {
      this.droppedPeers.add(key);
      return undefined;
    }
    const entry: PeerEntry = { roomId, peerId, rttAt: -Infinity };
    this.peers.set(key, entry);
    return entry;
  }

  snapshot(): QualitySnapshot {
    const peers = [...this.peers.values()].map(({ roomId, peerId, rttSeconds, downlinkEstimateBits }) => ({
      roomId,
      peerId,
      ...(rttSeconds === undefined ? {} : { rttSeconds }),
      ...(downlinkEstimateBits === undefined ? {} : { downlinkEstimateBits }),
    }));
    return { tracks: this.tracks, peers, droppedTracks: this.droppedTracks, droppedPeers: this.droppedPeers.size, pausedTracks: this.pausedTracks };
  }
}

/** Several threads' snapshots as one, still within `limits` (what does not fit is counted as dropped). */
export function mergeQuality(snapshots: QualitySnapshot[], limits: QualityLimits): QualitySnapshot {
  const out = emptyQualitySnapshot();
  for (const s of snapshots) {
    out.droppedTracks += s.droppedTracks;
    out.droppedPeers += s.droppedPeers;
    out.pausedTracks += s.pausedTracks;
    for (const t of s.tracks) {
      if (out.tracks.length < limits.tracks) out.tracks.push(t);
      else out.droppedTracks++;
    }
    for (const p of s.peers) {
      if (out.peers.length < limits.peers) out.peers.push(p);
      else out.droppedPeers++;
    }
  }
  return out;
}

/** RFC 3550's compact NTP: the middle 32 bits of the 64-bit timestamp, as LSR carries it. */
export function compactNtp(ntpSec: number, ntpFrac: number): number {
  return (((ntpSec & 0xffff) << 16) | (ntpFrac >>> 16)) >>> 0;
}
