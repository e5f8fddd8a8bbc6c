// A browser-shaped SDP offer for the WHIP/WHEP route tests: BUNDLE, one VP8 video and one opus audio m-line
// in the given direction, random DTLS fingerprint, no candidates (such a client never connects).
import { randomBytes } from 'node:crypto';

/** A browser-shaped offer: BUNDLE, one sendonly (or recvonly) VP8 video and opus audio m-line. */
export function offer(direction: 'sendonly' | 'recvonly' | 'sendrecv'): string {
  const fp = [...randomBytes(32)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
  const section = (kind: 'video' | 'audio', mid: string) => {
    const pt = kind === 'video' ? '96' : '111';
    const rtpmap = kind === 'video' ? 'VP8/90000' : 'opus/48000/2';
    return [
      `m=${kind} 9 UDP/TLS/RTP/SAVPF ${pt}`,
      'c=IN IP4 0.0.0.0',
      'a=rtcp:9 IN IP4 0.0.0.0',
      'a=ice-ufrag:abcd',
      'a=ice-pwd:abcdefghijklmnopqrstuvwx',
      `a=fingerprint:sha-256 ${fp}`,
      'a=setup:actpass',
      `a=mid:${mid}`,
      `a=${direction}`,
      'a=rtcp-mux',
      `a=rtpmap:${pt} ${rtpmap}`,
      ...(kind === 'video' ? [`a=rtcp-fb:${pt} nack`, `a=rtcp-fb:${pt} nack pli`] : []),
      ...(direction === 'recvonly' ? [] : [`a=ssrc:${kind === 'video' ? 1111 : 2222} cname:test`]),
    ];
  };
  return [
    'v=0',
    'o=- 1 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1',
    'a=msid-semantic: WMS',
    ...section('video', '0'),
    ...section('audio', '1'),
    '',
  ].join('\r\n');
}
