// Which of a producer's RTP streams a packet belongs to: a simulcast Variant ('l' | 'm' | 'h', see
// room/track.ts for its wire names), or '' for the single stream of a track without simulcast.
import type { Variant } from '../../room/track.js';

export type StreamVariant = Variant | '';
