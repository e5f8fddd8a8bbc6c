// The native plane's form of a consumer's rewrite: the addon's RtpRewriter, made once per consumer from
// its RtpForward. The extension map becomes a table of 256 id entries in the encoding rtp_rewrite.h reads
// (the id rewriteRtpInto would write, | 0x100 when its value above 14 forces the two-byte form), so the
// native rewrite keeps and drops exactly what the TypeScript one does. The map is read once, when the
// rewriter is made (a consumer's map is fixed for its life).
// What it must not do: touch packets, or decide which ids are forwarded (the session's map does).
import type { NativeAddon, NativeRtpRewriter } from './native-addon.js';
import type { RtpForward } from '../media/transport/srtp-session.js';

/** Forces the two-byte extension form (an id above 14). */
const FORCES_TWO_BYTE = 0x100;

/** The entry of a subscriber id as rewriteRtpInto treats it: 0 when it drops the element (not 1..255). */
export function nativeIdEntry(id: number | undefined): number {
  if (id === undefined || !(id >= 1 && id <= 255)) return 0;
  return (Math.trunc(id) & 0xff) | (id > 14 ? FORCES_TWO_BYTE : 0);
}

/** Publisher id (index) → entry; all zero without a map (the whole block is dropped, as rewriteRtpInto does). */
export function nativeIdTable(map: Map<number, number> | undefined): Uint16Array {
  const table = new Uint16Array(256);
  if (map !== undefined) for (let id = 1; id < 256; id++) table[id] = nativeIdEntry(map.get(id));
  return table;
}

export function nativeRewriter(addon: NativeAddon, f: RtpForward): NativeRtpRewriter {
  const tcc = f.transportSeqExtId;
  // writeRtxPacket finds the transport-cc element by its exact id: a fractional one is never found.
  const rtxTcc = tcc !== undefined && Number.isInteger(tcc) && tcc >= 1 && tcc <= 255 ? tcc : 0;
  return new addon.RtpRewriter(f.ssrc >>> 0, f.payloadType & 0x7f, nativeIdTable(f.extensionMap), nativeIdEntry(tcc), f.rtx ? f.rtx.ssrc >>> 0 : null, f.rtx ? f.rtx.payloadType & 0x7f : 0, rtxTcc);
}
