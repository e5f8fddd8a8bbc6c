// One subscriber's bandwidth allocator: fits the video it receives into its bandwidth estimate. Audio is
// served first (AUDIO_BPS per track, never paused); then every video track gets its lowest layer, then
// layers are raised one step at a time, round-robin, while they fit — never above the client's target;
// each round goes first through the tracks the client asked the highest layers for (the ones it shows
// large). A video track whose lowest layer does not fit (with a tolerance while it has it) for
// PAUSE_AFTER_MS is paused. Going down happens at once; going up (or
// resuming) needs the new layer to fit with a margin, the track to have held its layer for HOLD_MS, and
// is backed off (doubling, up to MAX_BACKOFF_MS) when an upgrade had to be undone soon after: raising a
// layer is also how the allocator probes for headroom, and a failed probe must not repeat at once.
// Retransmissions beyond the estimate's unallocated reserve come out of the budget, so resends cannot
// push the link over what it carries.
// What it must not do: touch consumers or producers (the caller applies its choices), read a clock
// (times are given), or know about transports and feedback.
import type { Variant } from '../../room/track.js';

/** One track as the allocator sees it. `level` indexes `layers`; −1 = paused. */
export interface AllocTrack {
  readonly key: string;
  readonly kind: 'audio' | 'video';
  /** Bitrate (bps) of each layer the client may get, low to high (simulcast: up to its target; else one). */
  readonly layers: number[];
  /** The layer now (−1 paused). */
  readonly level: number;
}

export const AUDIO_BPS = 40_000;
/** Part of the estimate the allocator hands out (the rest absorbs bursts, RTCP and retransmissions). */
const USABLE = 0.9;
const UP_MARGIN = 1.15;
const RESUME_MARGIN = 1.3;
/**
 * A track already on its lowest layer keeps it while 50 % of that layer fits: pausing is the last resort
 * (a brief dip after a failed upgrade must not stop the video) — 50 %: measured on a 300 kbit/s tbf link, the
 * estimate dips to ~125 kbit/s after a failed upgrade, where l (~130 kbit/s) must still play, and resuming needs RESUME_MARGIN.
 */
const KEEP_LOWEST_MARGIN = 0.5;
export const HOLD_MS = 2000;
/**
 * A playing track is paused only once its lowest layer has not fitted for this long: one overuse cut
 * (to 85 % of what arrived, low while only l is sent) passes within it, a link that really cannot carry
 * the layer does not.
 */
export const PAUSE_AFTER_MS = 2000;
/** An upgrade undone within this long counts as a failed probe. */
const FAILED_WITHIN_MS = 6000;
const MIN_BACKOFF_MS = 4000;
export const MAX_BACKOFF_MS = 30_000;

interface TrackState {
  /** Since when its lowest layer has not fitted while it played (−1: it fits). */
  misfitSince: number;
  changedAt: number;
  upgradedAt: number;
  backoffMs: number;
  noUpgradeUntil: number;
}

export class Allocator {
  private readonly state = new Map<string, TrackState>();

  /**
   * The level each track should have at `now` given `estimateBps` (same order as `tracks`), while
   * `retransmitBps` is being resent to this subscriber (what exceeds the reserve is taken from the budget).
   */
  allocate(tracks: AllocTrack[], estimateBps: number, now: number, retransmitBps = 0): number[] {
    // Retransmissions beyond the reserve come out of the budget — but never pause a track that plays: a
    // burst of them follows every cut (what the cut link dropped is asked for again) and passes.
    const resendCost = Math.max(0, retransmitBps - estimateBps * (1 - USABLE));
    let budget = estimateBps * USABLE - resendCost;
    const out: number[] = tracks.map((t) => (t.kind === 'audio' ? 0 : -1));
    for (const t of tracks) if (t.kind === 'audio') budget -= AUDIO_BPS;
    // The tracks the client shows larger come first (it asked a higher layer for them: more allowed layers),
    // so when the budget runs out mid-round they have their step and the small tiles wait (or pause).
    const video = tracks
      .map((t, i) => i)
      .filter((i) => tracks[i]!.kind === 'video' && tracks[i]!.layers.length > 0)
      .sort((a, b) => tracks[b]!.layers.length - tracks[a]!.layers.length || a - b);
    const keys = new Set(tracks.map((t) => t.key));
    for (const k of this.state.keys()) if (!keys.has(k)) this.state.delete(k);
    // Raise every video track one level per round while the next level fits.
    let raised = true;
    while (raised) {
      raised = false;
      for (const i of video) {
        const t = tracks[i]!;
        const next = out[i]! + 1;
        if (next >= t.layers.length) continue;
        const current = out[i]! < 0 ? 0 : t.layers[out[i]!]!;
        const cost = t.layers[next]! - current;
        const margin = next > t.level ? (t.level < 0 ? RESUME_MARGIN : UP_MARGIN) : next === 0 ? KEEP_LOWEST_MARGIN : 1;
        if (next > t.level && !this.mayRaise(t.key, now)) continue;
        const keeping = next === 0 && t.level >= 0;
        if (t.layers[next]! * margin - current > budget + (keeping ? resendCost : 0)) continue;
        budget -= cost;
        out[i] = next;
        raised = true;
      }
    }
    for (const i of video) {
      const t = tracks[i]!;
      const s = this.st(t.key, now);
      if (t.level < 0 || out[i]! >= 0) s.misfitSince = -1;
      else if (s.misfitSince < 0) s.misfitSince = now;
      if (out[i]! < 0 && t.level >= 0 && now - s.misfitSince < PAUSE_AFTER_MS) out[i] = 0;
      this.record(t, out[i]!, now);
    }
    return out;
  }

  /**
   * What the next step up would need, after allocate() gave `levels`: the estimate (bps) for the cheapest
   * one step up (or resume) among tracks allowed to rise at `now`, and whether it is a resume; undefined
   * when no track can or wants to rise. What a bandwidth probe has to find before that step is taken.
   */
  nextStep(tracks: AllocTrack[], levels: number[], now: number, retransmitBps = 0): { bps: number; resume: boolean } | undefined {
    let used = 0;
    for (let i = 0; i < tracks.length; i++) {
      const t = tracks[i]!;
      if (t.kind === 'audio') used += AUDIO_BPS;
      else if (levels[i]! >= 0) used += t.layers[levels[i]!] ?? 0;
    }
    let best = Infinity;
    let resume = false;
    for (let i = 0; i < tracks.length; i++) {
      const t = tracks[i]!;
      const level = levels[i]!;
      if (t.kind !== 'video' || level + 1 >= t.layers.length || !this.mayRaise(t.key, now)) continue;
      const current = level < 0 ? 0 : t.layers[level]!;
      const need = used - current + t.layers[level + 1]! * (level < 0 ? RESUME_MARGIN : UP_MARGIN);
      if (need < best) {
        best = need;
        resume = level < 0;
      }
    }
    if (!Number.isFinite(best)) return undefined;
    // Invert allocate()'s budget, estimate × USABLE − the retransmissions beyond the reserve (E × (1 − USABLE)).
    return { bps: Math.max(best / USABLE, best + retransmitBps), resume };
  }

  /**
   * The estimate (bps) that would put every track allowed to rise at `now` on its top layer (what the
   * client asked for), after allocate() gave `levels`; undefined when none can rise. A probe for it lets
   * a client that asked for more get there in one switch.
   */
  topStep(tracks: AllocTrack[], levels: number[], now: number, retransmitBps = 0): number | undefined {
    let need = 0;
    let rises = false;
    for (let i = 0; i < tracks.length; i++) {
      const t = tracks[i]!;
      const level = levels[i]!;
      if (t.kind === 'audio') need += AUDIO_BPS;
      else if (level + 1 < t.layers.length && this.mayRaise(t.key, now)) {
        need += t.layers.at(-1)! * (level < 0 ? RESUME_MARGIN : UP_MARGIN);
        rises = true;
      } else if (level >= 0) need += t.layers[level] ?? 0;
    }
    return rises ? Math.max(need / USABLE, need + retransmitBps) : undefined;
  }

  private st(key: string, now: number): TrackState {
    let s = this.state.get(key);
    if (!s) {
      s = { misfitSince: -1, changedAt: now - HOLD_MS, upgradedAt: -Infinity, backoffMs: MIN_BACKOFF_MS, noUpgradeUntil: -Infinity };
      this.state.set(key, s);
    }
    return s;
  }

  private mayRaise(key: string, now: number): boolean {
    const s = this.st(key, now);
    return now - s.changedAt >= HOLD_MS && now >= s.noUpgradeUntil;
  }

  private record(t: AllocTrack, level: number, now: number): void {
    const s = this.st(t.key, now);
    if (level === t.level) return;
    if (level > t.level) {
      s.upgradedAt = now;
    } else if (now - s.upgradedAt < FAILED_WITHIN_MS) {
      s.noUpgradeUntil = now + s.backoffMs;
      s.backoffMs = Math.min(MAX_BACKOFF_MS, s.backoffMs * 2);
    } else {
      s.backoffMs = MIN_BACKOFF_MS;
    }
    s.changedAt = now;
  }
}

/** Layers a simulcast track may use for a client target (low to high). */
export function allowedVariants(rids: readonly Variant[], target: Variant): Variant[] {
  const order: Variant[] = ['l', 'm', 'h'];
  return order.filter((v) => rids.includes(v) && order.indexOf(v) <= order.indexOf(target));
}
