// The EndpointLink of one WHIP/WHEP exchange: it collects what the endpoint's media session sends back for
// the offer (its sdpAnswer, then its ICE candidate) into one SDP answer with the candidate inline, since a
// WHIP/WHEP client gets no trickled candidates, and settles the POST with it (or with the session's error,
// or a timeout). Events after the answer are dropped. It holds no room state and does no network I/O.
import type { EndpointLink, ServerEndpointEvent } from '../../room/endpoint-events.js';

/** How long a POST waits for its session's answer. */
export const ANSWER_TIMEOUT_MS = 10_000;

export class OfferRefused extends Error {}

export class HttpOfferLink implements EndpointLink {
  /** Set once the room hung up on the endpoint. */
  closed: { code: number; reason: string } | undefined;
  private answerSdp: string | undefined;
  private settled = false;
  private resolveAnswer!: (sdp: string) => void;
  private rejectAnswer!: (err: Error) => void;
  /** The answer SDP with the server's candidate in every accepted m-section. */
  readonly answer: Promise<string>;
  private readonly timer: NodeJS.Timeout;

  constructor(timeoutMs = ANSWER_TIMEOUT_MS) {
    this.answer = new Promise<string>((resolve, reject) => {
      this.resolveAnswer = resolve;
      this.rejectAnswer = reject;
    });
    this.answer.catch(() => {});
    this.timer = setTimeout(() => this.fail(new Error('no SDP answer in time')), timeoutMs);
    this.timer.unref();
  }

  send(event: ServerEndpointEvent): void {
    if (this.settled) return;
    if (event.type === 'sdpAnswer') {
      this.answerSdp = event.sdp;
    } else if (event.type === 'candidate' && this.answerSdp !== undefined) {
      this.settle();
      this.resolveAnswer(withCandidate(this.answerSdp, event.candidate));
    } else if (event.type === 'error') {
      this.fail(new OfferRefused(event.message));
    }
  }

  close(code: number, reason: string): void {
    this.closed = { code, reason };
    this.fail(new Error(`session closed: ${reason}`));
  }

  private fail(err: Error): void {
    if (this.settled) return;
    this.settle();
    this.rejectAnswer(err);
  }

  private settle(): void {
    this.settled = true;
    clearTimeout(this.timer);
  }
}

/**
 * Puts `a=<candidate>` and `a=end-of-candidates` at the end of every m-section that was not rejected
 * (port 0). The server has one candidate (ICE-lite), and every section shares its transport (BUNDLE).
 */
export function withCandidate(sdp: string, candidate: string): string {
  const lines = sdp.split(/\r?\n/).filter((l) => l !== '');
  const cand = candidate.startsWith('a=') ? candidate : `a=${candidate}`;
  const out: string[] = [];
  let inAcceptedSection = false;
  const closeSection = () => {
    if (inAcceptedSection) out.push(cand, 'a=end-of-candidates');
  };
  for (const line of lines) {
    if (line.startsWith('m=')) {
      closeSection();
      inAcceptedSection = line.split(' ')[1] !== '0';
    }
    out.push(line);
  }
  closeSection();
  return `${out.join('\r\n')}\r\n`;
}
