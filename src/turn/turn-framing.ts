// The TURN framing of one datagram from a client, decoded in TypeScript: ChannelData (channel-data.ts),
// a Send indication (stun-message.ts decodeStun + FINGERPRINT, then its comprehension-required attributes,
// XOR-PEER-ADDRESS and DATA), another STUN message (decoded, for the request handlers), or malformed (with
// the reason the server counts and logs). It is the twin of the native plane's framing
// (native/src/turn_framing.cc, handed over as udp-socket.ts PreFramed): the same answer for every input,
// which test/native/turn-framing.test.ts checks; fromPreFramed turns the plane's answer into this one.
// What it must not do: look at allocations, permissions or channel bindings (turn-relay.ts does), hold
// state, or throw for any input.
import { decodeChannelData, classifyPacket } from './channel-data.js';
import { unknownRequiredAttributes } from './known-attributes.js';
import { bytesToIp, decodeXorAddress } from './stun-attributes.js';
import { decodeStun, getAttr, verifyFingerprint, type DecodedStun } from './stun-message.js';
import { Attr, StunClass, StunMethod, type TransportAddress } from './stun-protocol.js';
import type { PreFramed } from './udp-socket.js';

export type TurnFraming =
  | { readonly kind: 'channel-data'; readonly channel: number; readonly data: Buffer }
  | { readonly kind: 'send-indication'; readonly peer: TransportAddress; readonly data: Buffer }
  /** Any other well-formed STUN message (FINGERPRINT checked when present). */
  | { readonly kind: 'stun'; readonly msg: DecodedStun }
  | { readonly kind: 'malformed'; readonly reason: string };

function malformed(reason: string): TurnFraming {
  return { kind: 'malformed', reason };
}

/** What a Send indication carries, or why it is dropped as malformed. */
export function frameSendIndication(msg: DecodedStun): TurnFraming {
  if (unknownRequiredAttributes(msg).length) return malformed('Send indication with unknown comprehension-required attribute');
  const peerAttr = getAttr(msg, Attr.XorPeerAddress);
  const data = getAttr(msg, Attr.Data);
  if (!peerAttr || !data) return malformed('Send indication without XOR-PEER-ADDRESS or DATA');
  let peer: TransportAddress;
  try {
    const decoded = decodeXorAddress(peerAttr, msg.transactionId);
    peer = { address: decoded.address, port: decoded.port };
  } catch (err) {
    return malformed((err as Error).message);
  }
  return { kind: 'send-indication', peer, data };
}

/** The framing of `buf` (one UDP datagram, or one frame of a TCP/TLS stream: ChannelData padding is ignored). */
export function frameTurnDatagram(buf: Buffer): TurnFraming {
  switch (classifyPacket(buf[0])) {
    case 'channel-data':
      try {
        const cd = decodeChannelData(buf);
        return { kind: 'channel-data', channel: cd.channel, data: cd.data };
      } catch (err) {
        return malformed((err as Error).message);
      }
    case 'stun': {
      let msg: DecodedStun;
      try {
        msg = decodeStun(buf);
      } catch (err) {
        return malformed((err as Error).message);
      }
      if (msg.fingerprintOffset >= 0 && !verifyFingerprint(msg)) return malformed('bad FINGERPRINT');
      if (msg.cls === StunClass.Indication && msg.method === StunMethod.Send) return frameSendIndication(msg);
      return { kind: 'stun', msg };
    }
    default:
      return malformed('neither STUN nor ChannelData');
  }
}

/** The data plane's framing of `buf` as this module's: other STUN is decoded here (the plane only checked it). */
export function fromPreFramed(pre: PreFramed, buf: Buffer): TurnFraming {
  switch (pre.kind) {
    case 'channel-data':
    case 'malformed':
      return pre;
    case 'send-indication':
      return { kind: 'send-indication', peer: { address: bytesToIp(pre.peerIp), port: pre.peerPort }, data: pre.data };
    default:
      return frameTurnDatagram(buf);
  }
}
