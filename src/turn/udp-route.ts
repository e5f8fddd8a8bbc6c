// The UDP fast path's route: where the replies of one (allocation, virtual address) pair go when they
// can skip the relay — the TURN UDP socket, the client's source address and the ChannelData channel —
// and how long that stays true. The relay hands it out (VirtualReply.route) after the checks sendReply
// makes per packet; the user checks `usable` per packet (cheap) and asks again once it is not.
// What it must not do: hold code beyond that check, or outlive what it names (dead once the virtual
// address is released or the allocation deleted; `until` bounds expiry of the allocation and channel).
import type { TurnStats } from './turn-stats.js';
import type { UdpSocket, UdpSource } from './udp-socket.js';

export interface UdpRoute {
  readonly socket: UdpSocket;
  readonly to: UdpSource;
  readonly channel: number;
  /** Date.now() before which the allocation, its permission and its channel binding are live (at most 1 s ahead). */
  readonly until: number;
  /** Set by the relay when the virtual address is released or the allocation deleted. */
  dead: boolean;
  /** The socket's direct-send target for `to` (the data plane's; undefined: use the relay). */
  readonly target: unknown;
  /** The TURN server's counters: a direct send counts its datagram here. */
  readonly stats: TurnStats;
}

/** True while `route` may still be used at `now` (Date.now()). */
export function routeUsable(route: UdpRoute | undefined, now: number): route is UdpRoute {
  return route !== undefined && !route.dead && now < route.until;
}
