// Reads what a WHIP/WHEP route needs from an SDP offer before the media session parses it: each m-line's
// kind, mid and direction, bounded in size and count. It also normalises directions a standard tool may
// offer (sendrecv) to the one-way direction the role allows. It validates nothing else: the session's own
// parser refuses a bad offer with a clear error.

export const MAX_OFFER_BYTES = 64 * 1024;
export const MAX_OFFER_SECTIONS = 16;

export interface OfferLine {
  kind: string;
  mid: string | undefined;
  direction: 'sendonly' | 'recvonly' | 'sendrecv' | 'inactive';
}

export class OfferError extends Error {}

const DIRECTIONS = new Set(['sendonly', 'recvonly', 'sendrecv', 'inactive']);

export function offerLines(sdp: string): OfferLine[] {
  if (Buffer.byteLength(sdp) > MAX_OFFER_BYTES) throw new OfferError(`SDP offer is larger than ${MAX_OFFER_BYTES} bytes`);
  if (!sdp.startsWith('v=0')) throw new OfferError('body is not an SDP offer');
  const out: OfferLine[] = [];
  let current: OfferLine | undefined;
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) {
      if (out.length >= MAX_OFFER_SECTIONS) throw new OfferError(`SDP offer has more than ${MAX_OFFER_SECTIONS} m-lines`);
      current = { kind: line.slice(2).split(' ')[0] ?? '', mid: undefined, direction: 'sendrecv' };
      out.push(current);
    } else if (current && line.startsWith('a=mid:')) {
      current.mid = line.slice('a=mid:'.length).trim();
    } else if (current && DIRECTIONS.has(line.slice(2).trim()) && line.startsWith('a=')) {
      current.direction = line.slice(2).trim() as OfferLine['direction'];
    }
  }
  return out;
}

/** The offer with every `a=sendrecv` replaced by `a=<oneWay>` (a streamer only sends, a viewer only receives). */
export function oneWay(sdp: string, direction: 'sendonly' | 'recvonly'): string {
  return sdp.replace(/^a=sendrecv(?=\r?$)/gm, `a=${direction}`);
}
