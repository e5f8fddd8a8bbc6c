// Per-track and per-peer media quality as a media thread reports it (MediaPlane.quality()): the bitrate
// of each published track (bytes its producer received) and of each forwarded one (bytes its consumer
// sent), the loss and jitter subscribers report for what they receive, and each subscriber's round-trip
// time. Defines the bounded snapshot, the bitrate meter and the collector that caps it, and the merge of
// several threads' snapshots. What it must not do: run on the packet path (producers and consumers only
// add to plain byte counters; everything here happens once per scrape), or hold anything after a scrape.

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
}

export interface PeerQuality {
  roomId: string;
  peerId: string;
  /** Latest round-trip time measured from the peer's receiver reports (LSR/DLSR of Shoal's sender reports). */
  rttSeconds: number;
}

export interface QualitySnapshot {
  tracks: TrackQuality[];
  peers: PeerQuality[];
  /** Tracks and peers left out because the snapshot was full. */
  droppedTracks: number;
  droppedPeers: number;
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
  return { tracks: [], peers: [], droppedTracks: 0, droppedPeers: 0 };
}

/** Turns a running byte total into bits per second between samples. Sampled only at scrape time. */
export class BitrateMeter {
  private sampleBytes = 0;
  private sampleAt: number;
  private sampled = false;
  private bps = 0;

  constructor(now = performance.now()) {
    this.sampleAt = now;
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

/** Gathers one thread's snapshot, refusing what does not fit (counted, never built). */
export class QualityCollector {
  private readonly tracks: TrackQuality[] = [];
  private readonly peers = new Map<string, PeerQuality & { at: number }>();
  private droppedTracks = 0;
  private droppedPeers = 0;

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

  /** A round-trip time measured at `at` for the peer; the latest of its streams' measurements wins. */
  rtt(roomId: string, peerId: string, rttSeconds: number, at: number): void {
    const key = `${roomId}\u0000${peerId}`;
    const seen = this.peers.get(key);
    if (seen) {
      if (at > seen.at) Object.assign(seen, { rttSeconds, at });
      return;
    }
    if (this.peers.size >= this.limits.peers) {
      this.droppedPeers++;
      return;
    }
    this.peers.set(key, { roomId, peerId, rttSeconds, at });
  }

  snapshot(): QualitySnapshot {
    const peers = [...this.peers.values()].map(({ roomId, peerId, rttSeconds }) => ({ roomId, peerId, rttSeconds }));
    return { tracks: this.tracks, peers, droppedTracks: this.droppedTracks, droppedPeers: this.droppedPeers };
  }
}

/** Several threads' snapshots as one, still within `limits` (what does not fit is counted as dropped). */
export function mergeQuality(snapshots: QualitySnapshot[], limits: QualityLimits): QualitySnapshot {
  const out = emptyQualitySnapshot();
  for (const s of snapshots) {
    out.droppedTracks += s.droppedTracks;
    out.droppedPeers += s.droppedPeers;
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
