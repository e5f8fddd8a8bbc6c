// Forwarding one RTP packet to one subscriber, plane-neutral: the consumer's RtpForward (what its stream
// is rewritten to) and the TypeScript twins of the two steps a data plane does for it — rewrite and send
// a packet (rewriteRtpInto into a scratch buffer, then the transport's send; with an RTX stream a
// plaintext copy is kept), and send a kept packet again on the RTX stream (writeRtxPacket, then send).
// The native plane does each in one addon call (SrtpSession.forwardDirect / resendRtxDirect); a transport
// picks which one runs, per packet.
// What it must not do: choose sequence numbers, timestamps or transport-wide numbers (the consumer
// does), keep anything itself, or allocate per packet beyond the kept plaintext copy of an RTX stream
// (the rewrite parameters are reused objects).
import { writeRtxPacket, type RtxParams } from '../sfu/rtx.js';
import { rewriteRtpInto, type RewriteParams, type RtpHeader } from '../wire/rtp.js';
import type { RtpForward, SentFrame } from './srtp-session.js';

/** Forwards `src` (parsed as `h`) with these numbers for `f`'s subscriber; sets f.length and f.sent. */
export type ForwardRtp = (f: RtpForward, src: Buffer, h: RtpHeader, seq: number, ts: number, tseq: number) => void;

/** Sends what a forward kept (`f` has an RTX stream) again on the RTX stream; the RTX packet's length, or −1 (nothing sent). */
export type ResendRtx = (f: RtpForward, kept: SentFrame, rtxSeq: number, tseq: number) => number;

/** Sends the plaintext packet `packet[0, length)` (scratch: valid only during the call); what to keep, or undefined. */
export type SendRtp = (packet: Buffer, length: number) => SentFrame | undefined;

export interface RtpForwardParams {
  ssrc: number;
  payloadType: number;
  extensionMap?: Map<number, number>;
  transportSeqExtId?: number;
  rtx?: { ssrc: number; payloadType: number };
}

export function newRtpForward(p: RtpForwardParams): RtpForward {
  return {
    ssrc: p.ssrc >>> 0,
    payloadType: p.payloadType,
    extensionMap: p.extensionMap,
    transportSeqExtId: p.transportSeqExtId,
    rtx: p.rtx,
    length: -1,
    sent: undefined,
    planeForm: undefined,
  };
}

/** Where the twins write a packet (one thread; `send` consumes it at once). */
const scratch = Buffer.allocUnsafe(65536);
const params: RewriteParams = { ssrc: 0, payloadType: 0, sequenceNumber: 0, timestamp: 0 };
const rtxParams: RtxParams = { ssrc: 0, payloadType: 0, sequenceNumber: 0 };

/** The TypeScript twin of forwardDirect: rewriteRtpInto, then `send` (which encrypts a copy). */
export function rewriteAndSend(f: RtpForward, src: Buffer, h: RtpHeader, seq: number, ts: number, tseq: number, send: SendRtp): void {
  params.ssrc = f.ssrc;
  params.payloadType = f.payloadType;
  params.sequenceNumber = seq;
  params.timestamp = ts;
  params.extensionMap = f.extensionMap;
  params.transportSeqExtId = f.transportSeqExtId;
  params.transportSeq = tseq;
  const length = rewriteRtpInto(src, h, params, scratch);
  f.length = length;
  const sent = length < 0 ? undefined : send(scratch, length);
  // An RTX stream resends from the plaintext (encrypted afresh as RTX), so that is what is kept.
  f.sent = sent !== undefined && f.rtx !== undefined ? Buffer.from(scratch.subarray(0, length)) : sent;
}

/** The TypeScript twin of resendRtxDirect: writeRtxPacket of the kept plaintext, then `send`. */
export function resendAsRtx(f: RtpForward, kept: SentFrame, rtxSeq: number, tseq: number, send: SendRtp): number {
  if (f.rtx === undefined || !Buffer.isBuffer(kept)) return -1;
  rtxParams.ssrc = f.rtx.ssrc;
  rtxParams.payloadType = f.rtx.payloadType;
  rtxParams.sequenceNumber = rtxSeq;
  rtxParams.transportSeqExtId = f.transportSeqExtId;
  rtxParams.transportSeq = tseq;
  const length = writeRtxPacket(kept, rtxParams, scratch);
  if (length >= 0) send(scratch, length);
  return length;
}
