/**
 * A small TURN client for tests, over UDP or TCP (RFC 5766 framing), built on src/turn/stun-message.
 * The requests, response matching and the data queue are test/helpers/turn-requests.ts; this opens the
 * socket.
 *
 * - request(): sends a STUN request (optionally signed with the long-term key learnt in allocate())
 *   and resolves with the response matching its transaction id (bounded by a timeout).
 * - allocate(): the full long-term-credential dance (unauthenticated Allocate → 401 + REALM/NONCE →
 *   signed Allocate).
 * - sendIndication() / sendChannelData() / sendRaw(): the data path and arbitrary bytes.
 * - nextData(): bounded wait for the next Data indication or ChannelData message from the server.
 * - unsolicited: every inbound message that was neither a response to a pending request nor data.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { DecodedStun, StunAttribute, TransportAddress } from '../../src/turn/stun-message.js';
import { AsyncTurnClient, REQUESTED_UDP } from './turn-requests.js';

export { describeResponse, errorCode, type InboundData, type RequestOptions } from './turn-requests.js';

export class TestTurnClient extends AsyncTurnClient {
  private constructor(
    readonly transport: 'udp' | 'tcp',
    private readonly send: (buf: Buffer) => void,
    private readonly closeTransport: () => void,
    readonly local: TransportAddress,
  ) {
    super(2000);
  }

  static async open(transport: 'udp' | 'tcp', host: string, port: number): Promise<TestTurnClient> {
    if (transport === 'udp') {
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(0, '127.0.0.1', () => resolve());
      });
      const client: TestTurnClient = new TestTurnClient(
        'udp',
        (buf) => sock.send(buf, port, host),
        () => sock.close(),
        { address: '127.0.0.1', port: sock.address().port },
      );
      sock.on('message', (msg) => client.onMessage(msg));
      return client;
    }
    const sock = net.connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.once('connect', () => resolve());
    });
    sock.setNoDelay(true);
    const client: TestTurnClient = new TestTurnClient('tcp', AsyncTurnClient.streamWriter(sock), () => sock.destroy(), {
      address: sock.localAddress!,
      port: sock.localPort!,
    });
    client.attachStream(sock);
    return client;
  }

  protected override sendBytes(buf: Buffer): void {
    this.send(buf);
  }

  protected override streamFramed(): boolean {
    return this.transport === 'tcp';
  }

  sendRaw(buf: Buffer): void {
    this.sendBytes(buf);
  }

  /**
   * Allocate with the long-term mechanism. Returns the unauthenticated 401 and the final response.
   * `extra` attributes go into both requests.
   */
  async allocate(
    username: string,
    password: string,
    extra: StunAttribute[] = [REQUESTED_UDP],
  ): Promise<{ challenge: DecodedStun; response: DecodedStun }> {
    let challenge!: DecodedStun;
    const response = await this.longTermAllocate(username, password, extra, (c) => (challenge = c));
    return { challenge, response };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeTransport();
  }
}
