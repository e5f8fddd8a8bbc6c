// Loads Shoal's native data plane (native/src, built into build/Release/shoal_native.node at install by
// scripts/build-native.mjs) and declares the shape of what it exports: the seam's calls, nothing else.
// Each thread that loads it gets its own instance (Node-API addons are context-aware).
// What it must not do: decide which plane runs (data-plane.ts does), or throw when the addon is missing
// (it reports why, and the caller falls back to the TypeScript plane).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { SessionKeyBytes } from '../media/transport/srtp-kdf.js';

/** The seam's version; native/src/addon.cc exports the same number as `abi`. */
export const SEAM_ABI = 4;

/** Session keys of one direction, derived in TypeScript (srtp-kdf.ts deriveSessionKeys) from the DTLS-SRTP master key. */
export type NativeSrtpKeys = SessionKeyBytes;

/** Negative results of the SRTP calls: why the packet was dropped. */
export const SRTP_MALFORMED = -1;
export const SRTP_AUTH_FAILED = -2;
export const SRTP_REPLAYED = -3;
export const SRTP_NO_ROOM = -4;
/** sendRtp/resendRtp: nothing was queued (no room, a bad destination, or a frame no longer kept). */
export const SRTP_NOT_SENT = -5;

/**
 * One DTLS-SRTP session (native/src/srtp_binding.cc): protects with the local keys, unprotects with the
 * remote ones; ROC, SRTCP index and replay state per SSRC. Every call returns a length or one of the
 * SRTP_* codes above, never throws for packet content.
 */
export interface NativeSrtpSession {
  /** Writes the SRTP form of plaintext `src[0, len)` at `dst[dstOffset…]`; returns its length. */
  protectRtp(src: Buffer, len: number, dst: Buffer, dstOffset: number): number;
  /** Authenticates and decrypts the SRTP packet `buf[0, len)` in place; returns the plaintext length. */
  unprotectRtp(buf: Buffer, len: number): number;
  protectRtcp(src: Buffer, len: number, dst: Buffer, dstOffset: number): number;
  unprotectRtcp(buf: Buffer, len: number): number;
  /**
   * The send path: protects plaintext `src[0, len)` straight into `port`'s send queue as TURN ChannelData
   * on `channel` (0x4000-0x7FFF) to `ip4`:`destPort`, and keeps the SRTP frame (by SSRC and sequence
   * number) for resendRtp; returns the SRTP length or a negative code (SRTP_NOT_SENT: nothing queued).
   */
  sendRtp(port: NativeUdpPort, src: Buffer, len: number, ip4: number, destPort: number, channel: number): number;
  /** Queues the kept frame of (ssrc, seq) again, as sent; its length, or SRTP_NOT_SENT when it is no longer kept. */
  resendRtp(port: NativeUdpPort, ssrc: number, seq: number, ip4: number, destPort: number, channel: number): number;
  /**
   * The forwarding path: rewrites the RTP packet `src` (the whole Buffer) with `rewriter` and these numbers
   * (as rewriteRtpInto does) straight into `port`'s send queue, protects it there and queues it as on
   * sendRtp, keeping the frame under (the rewriter's SSRC, seq). Returns the rewritten plaintext length when
   * queued (the SRTP length is that plus the tag), FORWARD_REFUSED when `src` cannot be rewritten (nothing
   * done), or -2 - length when it was rewritten but not queued.
   */
  forwardRtp(port: NativeUdpPort, rewriter: NativeRtpRewriter, src: Buffer, seq: number, ts: number, tseq: number, ip4: number, destPort: number, channel: number): number;
  /**
   * For a rewriter with an RTX stream: the plaintext forwardRtp kept under (its SSRC, seq) sent again on
   * that stream (writeRtxPacket's form) with these numbers; the RTX packet's plaintext length (queued or,
   * on a full queue, lost as a send would be), or FORWARD_REFUSED when that packet is no longer kept.
   */
  resendRtx(port: NativeUdpPort, rewriter: NativeRtpRewriter, seq: number, rtxSeq: number, tseq: number, ip4: number, destPort: number, channel: number): number;
}

/** forwardRtp / RtpRewriter.rewrite: the packet cannot be rewritten (malformed, or longer than the room). */
export const FORWARD_REFUSED = -1;

/**
 * One consumer's rewrite (native/src/rtp_rewrite_binding.cc): `idTable[publisher id]` is the subscriber's
 * id (low 8 bits; 0 drops the element) | 0x100 when it forces the two-byte form; `tccId` the same for the
 * transport-wide sequence number element (0: none). With an RTX stream (rtxSsrc not null: its payload
 * type, and rtxTccId the transport-cc element's id as written, 0 none) forwardRtp keeps each rewritten
 * plaintext for resendRtx.
 */
export interface NativeRtpRewriter {
  /** The rewrite alone: writes the rewritten `src[0, len)` into `out`; its length, or FORWARD_REFUSED. */
  rewrite(src: Buffer, len: number, seq: number, ts: number, tseq: number, out: Buffer): number;
  /** The RTX packetizer alone, on this rewriter's RTX stream: writes the RTX form of `original[0, len)` into `out`; its length, or FORWARD_REFUSED. */
  writeRtx(original: Buffer, len: number, rtxSeq: number, tseq: number, out: Buffer): number;
}

/**
 * Words per received datagram in a UdpPort's meta array: offset, length, family (4|6), port, address (1 or 4
 * words), at UDP_AGE_WORD how long before the batch the kernel received it (µs, SO_TIMESTAMPNS; -1 when not
 * known), then, at UDP_FRAMING_WORD, its TURN framing (native/src/turn_framing.h; zeros while turnFraming is
 * off): kind (TURN_FRAMING_*); the channel (ChannelData), the peer's family 4|6 (Send indication) or the
 * reason (malformed: an index into TURN_FRAMING_REASONS); the peer's port; the inner data's arena offset and
 * length (ChannelData's data, the Send indication's DATA); the peer's address (1 or 4 big-endian words).
 */
export const UDP_META_WORDS = 18;
/** The datagram's age when its batch was handed over, µs (-1: not known). */
export const UDP_AGE_WORD = 8;
/** Where the TURN framing starts in a meta entry. */
export const UDP_FRAMING_WORD = 9;

/** The framing kinds of a meta entry (native/src/turn_framing.h TurnKind). */
export const TURN_FRAMING_NONE = 0;
export const TURN_FRAMING_CHANNEL_DATA = 1;
export const TURN_FRAMING_SEND_INDICATION = 2;
/** Any other well-formed STUN message: the TURN server decodes it itself. */
export const TURN_FRAMING_OTHER_STUN = 3;
export const TURN_FRAMING_MALFORMED = 4;
/**
 * Why a datagram is malformed, by the code in its meta entry (TurnReason): the messages the TypeScript
 * decoders (channel-data.ts, stun-message.ts, stun-attributes.ts, turn-framing.ts) give for the same input.
 */
export const TURN_FRAMING_REASONS: readonly string[] = [
  '',
  'neither STUN nor ChannelData',
  'truncated ChannelData header',
  'ChannelData length exceeds packet',
  'truncated header',
  'first two bits not zero',
  'bad magic cookie',
  'length not a multiple of 4',
  'length does not match message size',
  'attribute after FINGERPRINT',
  'truncated attribute header',
  'attribute overflows message',
  'bad FINGERPRINT length',
  'bad MESSAGE-INTEGRITY length',
  'bad FINGERPRINT',
  'Send indication with unknown comprehension-required attribute',
  'Send indication without XOR-PEER-ADDRESS or DATA',
  'bad address length',
  'unknown address family',
];
/** At most this many datagrams per onBatch call (the meta array holds this many entries). */
export const UDP_MAX_BATCH = 32;

export interface NativeUdpCounters {
  received: number;
  receivedBytes: number;
  /** recvmmsg calls that returned datagrams. */
  batches: number;
  /** Datagrams dropped because they did not fit the receive slot. */
  truncated: number;
  sent: number;
  sentBytes: number;
  /** sendmmsg calls. */
  sendCalls: number;
  /** Datagrams the kernel refused (full buffer, unreachable): lost, as with dgram. */
  sendErrors: number;
  /** Datagrams dropped before the kernel: bad offset/length/address/port, over 65507 bytes, or sent after close(). */
  sendDropped: number;
}

/**
 * One UDP socket on the calling thread's libuv loop (native/src/udp_binding.cc): datagrams are read with
 * recvmmsg and handed over a batch at a time; sends are queued and written with sendmmsg (after each
 * batch's callback, when the queue is full, or on flush()).
 */
export interface NativeUdpPort {
  /** Binds to an IPv4 or IPv6 literal; returns the bound port. Throws with the errno text on failure. */
  bind(ip: string, port: number, bufferBytes: number): number;
  /** Queues `frame[offset, offset + length)` to an IPv4 address (host-order u32) and port. */
  send(frame: Buffer, offset: number, length: number, ip4: number, port: number): void;
  /** The same to an IPv6 address (16 bytes). */
  send6(frame: Buffer, offset: number, length: number, ip6: Buffer, port: number): void;
  /** Writes everything queued; returns how many datagrams went out. */
  flush(): number;
  counters(): NativeUdpCounters;
  /** Stops reading and closes the socket (idempotent); later sends are dropped. */
  close(): void;
  /** poll(false): read only on read() calls (a load generator reading on a timer); poll(true) again reads when readable (the default). */
  poll(on: boolean): void;
  /** Reads what is waiting now, calling onBatch per batch (what a readable event does). */
  read(): void;
  /**
   * reuseArena(true): the caller promises never to keep a view of a datagram past its onBatch call, so a
   * full arena is written again from the start instead of a new one being made (a load generator's GC).
   */
  reuseArena(on: boolean): void;
  /** turnFraming(true): each received datagram's TURN framing is decoded into its meta entry (see UDP_META_WORDS); off by default. */
  turnFraming(on: boolean): void;
}

export interface NativeAddon {
  abi: number;
  SrtpSession: new (profile: number, tx: NativeSrtpKeys, rx: NativeSrtpKeys) => NativeSrtpSession;
  RtpRewriter: new (ssrc: number, payloadType: number, idTable: Uint16Array, tccId: number, rtxSsrc: number | null, rtxPayloadType: number, rtxTccId: number) => NativeRtpRewriter;
  /**
   * `onBatch(arena, count)`: `count` datagrams were received into `arena` (a Buffer the port allocates,
   * 1 MiB at a time, never rewritten: views into it stay valid); entry i of `meta` (UDP_META_WORDS words
   * from i · UDP_META_WORDS) says where each one is and who sent it.
   */
  UdpPort: new (onBatch: (arena: Buffer, count: number) => void, meta: Int32Array) => NativeUdpPort;
}

export type AddonLoad = { addon: NativeAddon; path: string } | { addon: undefined; path: string; reason: string };

const DEFAULT_PATH = fileURLToPath(new URL('../../build/Release/shoal_native.node', import.meta.url));

/** Loads the addon (SHOAL_NATIVE_ADDON overrides the path: the sanitizer build in CI); never throws. */
export function loadNativeAddon(path = process.env.SHOAL_NATIVE_ADDON || DEFAULT_PATH): AddonLoad {
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    const text = (err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' ? 'it is not built (npm run build:native)' : (err as Error).message;
    return { addon: undefined, path, reason: text };
  }
  if (typeof addon.SrtpSession !== 'function' || typeof addon.UdpPort !== 'function') return { addon: undefined, path, reason: 'it lacks SrtpSession or UdpPort (npm run build:native)' };
  if (addon.abi !== SEAM_ABI) return { addon: undefined, path, reason: `it was built for seam version ${String(addon.abi)}, this server needs ${SEAM_ABI} (npm run build:native)` };
  return { addon, path };
}
