// What an agent hears of one room track: a sink on the track's Producer that turns each Opus packet into
// the agent's output format (PCM16 mono at its rate, decoded with libopus; or the Opus packet as sent)
// and reports it. Packets that arrive late or twice are dropped (no reordering buffer), as are packets
// libopus refuses. What it must not do: keep packets, block the producer on a slow agent (the socket
// bounds what waits for the agent), or outlive its producer or session (close frees the decoder).
import type { AgentAudio, AgentOutput } from '../../room/media-port.js';
import type { RtpSink } from '../sfu/rtp-sink.js';
import type { StreamVariant } from '../sfu/stream-variant.js';
import { isNewerSeq, type RtpHeader } from '../wire/rtp.js';
import { OpusPcmDecoder } from './opus-codec.js';

export class AgentListener implements RtpSink {
  private readonly decoder: OpusPcmDecoder | undefined;
  private lastSeq: number | undefined;
  private closed = false;
  /** Packets libopus could not decode (for tests and logs). */
  undecodable = 0;

  constructor(
    private readonly publisherId: string,
    private readonly trackId: string,
    private metadata: unknown,
    output: AgentOutput,
    private readonly report: (audio: AgentAudio) => void,
    /** Called once when the listener closes (its producer went away or the session unsubscribed). */
    private readonly onClose: () => void,
  ) {
    this.decoder = output.format === 'pcm16' ? new OpusPcmDecoder(output.sampleRate) : undefined;
  }

  setMetadata(metadata: unknown): void {
    this.metadata = metadata;
  }

  forward(buf: Buffer, h: RtpHeader, _variant: StreamVariant, _keyframe: boolean): void {
    if (this.closed || h.payloadLength === 0) return;
    if (this.lastSeq !== undefined && !isNewerSeq(h.sequenceNumber, this.lastSeq)) return;
    this.lastSeq = h.sequenceNumber;
    const payload = buf.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength);
    let data: Uint8Array;
    if (this.decoder) {
      const pcm = this.decoder.decode(payload);
      if (!pcm) {
        this.undecodable++;
        return;
      }
      data = pcm;
    } else {
      data = Buffer.from(payload); // the producer's buffer is reused by others; the agent gets its own copy
    }
    this.report({ peerId: this.publisherId, track: { id: this.trackId, metadata: this.metadata }, data });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.decoder?.free();
    this.onClose();
  }
}
