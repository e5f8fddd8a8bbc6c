// Bounds on the JSON values clients and backends send (REST bodies, metadata from REST and from both
// socket generations, track metadata): nesting depth and serialized size. A value over a bound is refused
// where it enters (a 400 or an error event), so nothing stored can break a later read of a room. Checks
// are iterative — they never recurse on client data — and they change nothing.

/** Deepest nesting of objects/arrays accepted in any client JSON value (a REST body, a media event's metadata). */
export const MAX_JSON_DEPTH = 32;
/** Deepest nesting of a whole REST body or JSON media event (an envelope wraps metadata a few levels down). */
export const MAX_ENVELOPE_DEPTH = 64;
/** Largest metadata value (peer or track), serialized as JSON. */
export const MAX_METADATA_BYTES = 64 * 1024;

export class JsonLimitError extends Error {
  override readonly name = 'JsonLimitError';
}

/**
 * Does JSON text nest objects/arrays deeper than `max`? Scans brackets outside strings in one pass; it
 * does not validate the text (JSON.parse does that afterwards).
 */
export function jsonTextTooDeep(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

/** Does a parsed value nest objects/arrays deeper than `max`? (an object or array at the top is depth 1) */
export function valueTooDeep(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * Refuses a metadata value that nests deeper than MAX_JSON_DEPTH or serializes to more than
 * MAX_METADATA_BYTES (`what` names it in the message, e.g. "Peer metadata").
 */
export function checkMetadata(value: unknown, what: string): void {
  if (valueTooDeep(value)) throw new JsonLimitError(`${what} is nested deeper than ${MAX_JSON_DEPTH} levels`);
  const json = JSON.stringify(value ?? null);
  if (Buffer.byteLength(json, 'utf8') > MAX_METADATA_BYTES) throw new JsonLimitError(`${what} is larger than ${MAX_METADATA_BYTES} bytes`);
}
