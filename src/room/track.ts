// A published track as the room knows it (no media here: the SFU owns packets). TrackInfo values are
// never changed in place: a change makes a new object (a session may still hold the old one).

/**
 * Audio or video. Wire names: `type` in track JSON and tracksAdded, `kind` of a MediaStreamTrack, the
 * media of an SDP m-line (which also has `application`, never a track).
 */
export type TrackKind = 'audio' | 'video';

/**
 * One simulcast variant of a video track (one of the publisher's encodings), named by its RTP stream id.
 * Wire names: "variant" (setTargetTrackVariant, the 0.25 protobuf Variant), "encoding" (encodingSwitched,
 * enable/disableTrackEncoding, trackEncodingEnabled/Disabled, simulcastConfig.activeEncodings), "rid" in SDP.
 */
export type Variant = 'l' | 'm' | 'h';

export interface SimulcastInfo {
  enabled: boolean;
  active: Variant[];
  disabled: Variant[];
}

export interface TrackInfo {
  id: string;
  type: TrackKind;
  metadata: unknown;
  simulcast: SimulcastInfo;
}

export function trackJson(t: TrackInfo): { id: string; type: TrackKind; metadata: unknown } {
  return { id: t.id, type: t.type, metadata: t.metadata ?? null };
}
