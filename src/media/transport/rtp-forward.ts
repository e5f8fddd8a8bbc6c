// Forwarding one RTP packet to one subscriber, plane-neutral: the consumer's RtpForward (what its stream
// is rewritten to) and the TypeScript twin of the step that rewrites and sends a packet —
// rewriteRtpInto into a scratch buffer, then the transport's send. The native plane does the same step in
// one addon call (SrtpSession.forwardDirect); a transport picks which one runs, per packet.
// What it must not do: choose sequence numbers, timestamps or transport-wide numbers (the consumer
// does), keep anything per packet, or allocate per packet (the rewrite parameters are one reused object).
import { rewriteRtpInto, type RewriteParams, type RtpHeader } from '../wire/rtp.js';
import type { RtpForward, SentFrame } from './srtp-session.js';

/** Forwards `src` (parsed as `h`) with these numbers for `f`'s subscriber; sets f.length and f.sent. */
export type ForwardRtp = (f: RtpForward, src: Buffer, h: RtpHeader, seq: number, ts: number, tseq: number) => void;

/** Sends the plaintext packet `packet[0, length)` (scratch: valid only during the call); what to keep, or undefined. */
export type SendRtp = (packet: Buffer, length: number) => SentFrame | undefined;

export interface RtpForwardParams {
  ssrc: number;
  payloadType: number;
  extensionMap?: Map<number, number>;
  transportSeqExtId?: number;
  /** Keep every rewritten plaintext here too (at least as long as the longest packet: 64 KiB). */
  plaintext?: Buffer;
}

export function newRtpForward(p: RtpForwardParams): RtpForward {
  return {
    ssrc: p.ssrc >>> 0,
    payloadType: p.payloadType,
    extensionMap: p.extensionMap,
    transportSeqExtId: p.transportSeqExtId,
    plaintext: p.plaintext,
    length: -1,
    sent: undefined,
    planeForm: undefined,
  };
}

/** Where the twin rewrites a packet when the consumer keeps no plaintext (one thread; `send` consumes it at once). */
const scratch = Buffer.allocUnsafe(65536);
const params: RewriteParams = { ssrc: 0, payloadType: 0, sequenceNumber: 0, timestamp: 0 };

/** The TypeScript twin of forwardDirect: rewriteRtpInto, then `send` (which encrypts a copy). */
export function rewriteAndSend(f: RtpForward, src: Buffer, h: RtpHeader, seq: number, ts: number, tseq: number, send: SendRtp): void {
  params.ssrc = f.ssrc;
  params.payloadType = f.payloadType;
  params.sequenceNumber = seq;
  params.timestamp = ts;
  params.extensionMap = f.extensionMap;
  params.transportSeqExtId = f.transportSeqExtId;
  params.transportSeq = tseq;
  const out = f.plaintext ?? scratch;
  const length = rewriteRtpInto(src, h, params, out);
  f.length = length;
  f.sent = length < 0 ? undefined : send(out, length);
}
