// Bounds on what one agent may send (its tracks, each chunk, what may wait to be played). One place so
// the session, the socket's checks and the README agree. Values only; nothing here acts.

/** Outgoing tracks one agent may have at once. */
export const MAX_AGENT_TRACKS = 4;
/** Longest track id an agent may choose (the SDK sends a 36-character UUID). */
export const MAX_AGENT_TRACK_ID = 128;
/** Largest sendData chunk (bytes): the same as the default WebSocket frame limit. */
export const MAX_AGENT_CHUNK_BYTES = 1024 * 1024;
/** Audio that may wait to be played on one track (ms); a chunk that would queue more is refused. */
export const MAX_AGENT_QUEUED_MS = 60_000;
/** Largest Opus packet an agent may send on an `opus` track (bytes; libopus packets are at most 1275 per frame, 3 frames). */
export const MAX_AGENT_OPUS_PACKET = 3828;
