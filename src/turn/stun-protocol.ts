// The STUN/TURN protocol vocabulary (RFC 5389 / 5766 / 8656) every codec module shares: magic cookie,
// header length, message classes and methods, the attribute type registry and its comprehension-required
// rule, 4-byte padding, the TransportAddress shape, and StunDecodeError, which every decoder throws.
// What it must not do: encode or decode anything, hold state, or do I/O.

export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_LENGTH = 20;

export const StunClass = { Request: 0, Indication: 1, SuccessResponse: 2, ErrorResponse: 3 } as const;
export type StunClass = (typeof StunClass)[keyof typeof StunClass];

export const StunMethod = {
  Binding: 0x001,
  Allocate: 0x003,
  Refresh: 0x004,
  Send: 0x006,
  Data: 0x007,
  CreatePermission: 0x008,
  ChannelBind: 0x009,
} as const;

export const Attr = {
  MappedAddress: 0x0001,
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  UnknownAttributes: 0x000a,
  ChannelNumber: 0x000c,
  Lifetime: 0x000d,
  XorPeerAddress: 0x0012,
  Data: 0x0013,
  Realm: 0x0014,
  Nonce: 0x0015,
  XorRelayedAddress: 0x0016,
  RequestedAddressFamily: 0x0017,
  EvenPort: 0x0018,
  RequestedTransport: 0x0019,
  DontFragment: 0x001a,
  MessageIntegritySha256: 0x001c,
  PasswordAlgorithm: 0x001d,
  Userhash: 0x001e,
  XorMappedAddress: 0x0020,
  ReservationToken: 0x0022,
  Priority: 0x0024,
  UseCandidate: 0x0025,
  Software: 0x8022,
  AlternateServer: 0x8023,
  Fingerprint: 0x8028,
  IceControlled: 0x8029,
  IceControlling: 0x802a,
} as const;

/** Attribute types below 0x8000 must be understood by the receiver (RFC 5389 §15). */
export function isComprehensionRequired(type: number): boolean {
  return type < 0x8000;
}

/** Attribute values and TCP-framed ChannelData are padded to a multiple of 4 bytes. */
export function pad4(n: number): number {
  return (n + 3) & ~3;
}

export class StunDecodeError extends Error {
  override readonly name = 'StunDecodeError';
}

export interface TransportAddress {
  address: string;
  port: number;
}
