// A published track as the room knows it (no media here: the SFU owns packets).
export type TrackKind = 'audio' | 'video';
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
