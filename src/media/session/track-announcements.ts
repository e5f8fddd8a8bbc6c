// What one session owes its client about the tracks it receives, and when: tracksAdded/tracksRemoved are
// held until the next negotiation round starts (one arriving while ts-client 0.5.0 is still connecting
// makes it wait for a "connected" event that has already passed), and no other event about a track may
// reach the client before that track's tracksAdded. It decides what goes out when; sending is the caller's.
import type { ServerEndpointEvent } from '../../room/endpoint-events.js';
import type { TrackInfo } from '../../room/track.js';

export type Announcement = Extract<ServerEndpointEvent, { type: 'tracksAdded' | 'tracksRemoved' }>;

export class TrackAnnouncements {
  private readonly held: Announcement[] = [];
  /** Tracks the client has been told about (tracksAdded sent, no tracksRemoved since). */
  private readonly announced = new Set<string>();

  /** Holds an announcement until the next round starts. The event is the holder's from now on. */
  hold(event: Announcement): void {
    this.held.push(event);
  }

  /** A round starts: every held announcement goes out, in order. */
  flush(send: (event: Announcement) => void): void {
    for (const event of this.held.splice(0)) {
      if (event.type === 'tracksAdded') for (const t of event.tracks) this.announced.add(t.id);
      else for (const id of event.trackIds) this.announced.delete(id);
      send(event);
    }
  }

  /** Has the client been told about this track (and not told it was removed)? */
  knows(trackId: string): boolean {
    return this.announced.has(trackId);
  }

  /**
   * An event about `track` (its info as it is after the change): folded into the held tracksAdded that
   * will announce the track, dropped when the track's next announcement removes it, sent when the
   * client already knows the track, else dropped.
   */
  trackEvent(track: TrackInfo, event: ServerEndpointEvent, send: (event: ServerEndpointEvent) => void): void {
    for (let i = this.held.length - 1; i >= 0; i--) {
      const held = this.held[i]!;
      if (held.type === 'tracksRemoved') {
        if (held.trackIds.includes(track.id)) return;
        continue;
      }
      const at = held.tracks.findIndex((t) => t.id === track.id);
      if (at >= 0) {
        held.tracks[at] = track;
        return;
      }
    }
    if (this.announced.has(track.id)) send(event);
  }
}
