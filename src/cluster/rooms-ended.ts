// Waits, bounded, until a node serves no room any more: used by a cluster drain, which lets the rooms on
// a draining node finish before the rest is hung up. It holds no state of its own and imports nothing:
// the server hands it the room count and a subscription to "a room ended".
export interface RoomsEndedOptions {
  /** Rooms served now. */
  count: () => number;
  /** Subscribes to room ends (deleted, purged, crashed); returns the unsubscribe function. */
  onRoomEnded: (listener: () => void) => () => void;
  timeoutMs: number;
}

/** Resolves true once no room is left, false when `timeoutMs` passed first. */
export function roomsEnded(o: RoomsEndedOptions): Promise<boolean> {
  if (o.count() === 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ended: boolean) => {
      clearTimeout(timer);
      off();
      resolve(ended);
    };
    // The room list shrinks after the notification is published: look again on the next turn.
    const off = o.onRoomEnded(() => setImmediate(() => o.count() === 0 && done(true)));
    const timer = setTimeout(() => done(false), o.timeoutMs);
  });
}
