// A room's settings as the backend chose them at creation (Fishjam's room config), and the values
// they may take. Plain data: the REST layer validates it, the Room reads it.
export type VideoCodec = 'h264' | 'vp8';
export const ROOM_TYPES = ['full_feature', 'audio_only', 'broadcaster', 'livestream', 'conference', 'audio_only_livestream'] as const;
export type RoomType = (typeof ROOM_TYPES)[number];

/** Timeouts are seconds; null turns a countdown off. */
export interface RoomConfig {
  roomId: string;
  maxPeers: number | null;
  videoCodec: VideoCodec | null;
  webhookUrl: string | null;
  peerlessPurgeTimeout: number | null;
  peerDisconnectedTimeout: number | null;
  roomType: RoomType;
  public: boolean;
}

