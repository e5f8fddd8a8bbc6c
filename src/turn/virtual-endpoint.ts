// The contract between the TURN server and the in-process endpoints behind its virtual addresses (the
// media plane's transports): what an endpoint receives, who sent it, and how it answers.
// What it must not do: hold code; turn-server.ts re-exports these names for code outside src/turn.
import type { TransportAddress } from './stun-protocol.js';
import type { UdpRoute } from './udp-route.js';

/**
 * Sends data back to a client, appearing to come from the virtual address. With `headroom` > 0 only
 * `data[headroom, end)` is sent and the bytes before it are the server's to overwrite: with
 * REPLY_HEADROOM of them, a UDP reply is framed as ChannelData in place, without a copy.
 */
export type VirtualReply = ((data: Buffer, headroom?: number) => void) & {
  /**
   * The UDP fast path for these replies (udp-route.ts): a route to write ChannelData straight to the
   * client's socket, or undefined when replies must go through the relay (TCP, no channel bound, gone).
   */
  readonly route?: () => UdpRoute | undefined;
};

/** Bytes in front of a reply's data that let the server write the ChannelData header in place. */
export const REPLY_HEADROOM = 4;

export interface VirtualEndpoint {
  /**
   * A packet the client sent through its allocation to this virtual address; `reply` answers that client.
   * `reply` is the same function for every packet of one allocation to this address, so an endpoint may
   * keep it; it becomes inert once the allocation is gone or the address is released.
   */
  receive(data: Buffer, from: ClientRef, reply: VirtualReply): void;
}

export interface ClientRef {
  allocationId: string;
  username: string;
  transport: 'udp' | 'tcp';
  /** The allocation's relayed address: where the client's packets appear to come from. */
  relayed: TransportAddress;
}
