// A TURN client over an already connected stream (a TLS socket, or a plain TCP one) for the TURNS tests
// (not a test file itself): RFC 5766 framing with the server's StreamFramer, requests matched to their
// responses by transaction id (bounded waits), the long-term-credential Allocate, permissions, channels,
// Send indications, ChannelData, and a queue of Data indications / ChannelData from the server — all of
// it test/helpers/turn-requests.ts; this only reads and writes the stream.
// (test/helpers/turn-client.ts opens its own UDP or TCP socket, so it cannot run over TLS.)
import type { Duplex } from 'node:stream';
import type { DecodedStun } from '../../src/turn/stun-message.js';
import { AsyncTurnClient, REQUESTED_UDP, type InboundData } from '../helpers/turn-requests.js';

export type Inbound = InboundData;

export class StreamTurnClient extends AsyncTurnClient {
  readonly write: (bytes: Buffer) => void;

  constructor(sock: Duplex) {
    super(3000);
    this.write = AsyncTurnClient.streamWriter(sock);
    this.attachStream(sock);
  }

  protected override sendBytes(bytes: Buffer): void {
    this.write(bytes);
  }

  protected override streamFramed(): boolean {
    return true;
  }

  allocate(username: string, password: string): Promise<DecodedStun> {
    return this.longTermAllocate(username, password, [REQUESTED_UDP]);
  }

  /** The next Data indication or ChannelData (bounded wait). */
  next(timeoutMs = 3000): Promise<Inbound> {
    return this.nextData(timeoutMs);
  }
}
