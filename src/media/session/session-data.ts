// One peer session's data channels: answers the offer's m=application line, runs the data channels over
// the session's transport once it is offered, and carries messages between them and the room's Router:
// what the peer publishes goes to the Router (if the peer may publish data and the message is not too
// large); what other peers publish comes back on the channel of the same label.
// What it must not do: parse the payloads, send anything before the transport is connected (the SCTP
// association waits for the client's INIT), or report a refused publisher more than once.
import type { Logger } from '../../log/logger.js';
import type { Router } from '../sfu/router.js';
import { DataChannels } from '../transport/data-channels.js';
import type { WebRtcTransport } from '../transport/webrtc-transport.js';
import { MAX_MESSAGE_SIZE, SCTP_PORT, type AnswerMedia } from '../wire/sdp-answer.js';
import type { OfferedMedia } from '../wire/sdp.js';

/** Bytes that may wait for one receiver before its lossy messages are dropped (reliable: channel closed). */
export const MAX_BUFFERED_DATA = 1024 * 1024;

export interface SessionDataParams {
  transport: WebRtcTransport;
  router: Router;
  peerId: string;
  canPublishData: boolean;
  /** Sends the client an `error` event. */
  sendError(message: string): void;
  /** The client opened a channel, or it closed (the client reset it, a slow receiver's was closed, the session ended). */
  channelChanged(label: string, change: 'added' | 'removed'): void;
  log: Logger;
}

export class SessionData {
  private channels: DataChannels | undefined;
  private refused = false;

  constructor(private readonly p: SessionDataParams) {}

  /** The answer to an offered m=application line; the first accepted one starts the data channels. */
  answer(m: OfferedMedia): AnswerMedia {
    if (m.port === 0 || !m.protocol.includes('SCTP')) {
      return { mid: m.mid, kind: 'application', direction: 'inactive', extensions: [], offered: m };
    }
    if (!this.channels) this.start(m.sctpPort ?? SCTP_PORT);
    return { mid: m.mid, kind: 'application', direction: 'sendrecv', extensions: [], offered: m };
  }

  private start(remotePort: number): void {
    const { transport, router, peerId } = this.p;
    const channels = new DataChannels((buf) => transport.sendSctp(buf), { maxBuffered: MAX_BUFFERED_DATA }, this.p.log);
    this.channels = channels;
    transport.on('sctp', (buf) => channels.receive(buf));
    channels.on('message', (label, data) => this.onMessage(label, data));
    channels.on('open', (ch) => this.p.channelChanged(ch.label, 'added'));
    channels.on('close', (ch) => this.p.channelChanged(ch.label, 'removed'));
    router.addDataSink(peerId, (label, data) => channels.send(label, data) === 'sent');
    channels.start(remotePort);
  }

  private onMessage(label: string, data: Buffer): void {
    if (!this.p.canPublishData) {
      this.p.router.dataRefused('notAllowed');
      if (!this.refused) this.p.sendError('Publishing data is not allowed for this peer');
      this.refused = true;
      return;
    }
    if (data.length > MAX_MESSAGE_SIZE) {
      this.p.router.dataRefused('tooLarge');
      this.p.log.debug({ label, size: data.length }, 'data message too large: dropped');
      return;
    }
    this.p.router.publishData(this.p.peerId, label, data);
  }

  close(): void {
    if (!this.channels) return;
    this.p.router.removeDataSink(this.p.peerId);
    this.channels.close();
    this.channels = undefined;
  }
}
