// Which comprehension-required STUN attributes the TURN server understands (RFC 5389 §7.3.1): requests
// carrying any other one get 420 Unknown Attribute, Send indications carrying one are dropped.
// What it must not do: decide what happens to such a message (the request handlers and the relay do).
import type { DecodedStun } from './stun-message.js';
import { Attr, isComprehensionRequired } from './stun-protocol.js';

const KNOWN_TURN_ATTRS = new Set<number>([
  Attr.MappedAddress,
  Attr.Username,
  Attr.ErrorCode,
  Attr.UnknownAttributes,
  Attr.ChannelNumber,
  Attr.Lifetime,
  Attr.XorPeerAddress,
  Attr.Data,
  Attr.Realm,
  Attr.Nonce,
  Attr.XorRelayedAddress,
  Attr.RequestedAddressFamily,
  Attr.RequestedTransport,
  Attr.DontFragment,
  Attr.XorMappedAddress,
  Attr.Priority,
  Attr.UseCandidate,
]);

/** The comprehension-required attribute types in `msg` the server does not understand, each once, in order. */
export function unknownRequiredAttributes(msg: DecodedStun): number[] {
  const out: number[] = [];
  for (const a of msg.attributes) {
    if (isComprehensionRequired(a.type) && !KNOWN_TURN_ATTRS.has(a.type) && !out.includes(a.type)) out.push(a.type);
  }
  return out;
}
