// Translates endpoint events to and from the JSON media events of @fishjam-dev/ts-client 0.5.0
// (carried as text in PeerMessage field 3). Pure functions: no sockets, no room state.
import type { ClientEndpointEvent, EndpointView, ServerEndpointEvent } from '../../room/endpoint-events.js';
import type { TrackInfo, Variant } from '../../room/track.js';
import { MAX_ENVELOPE_DEPTH, checkMetadata, jsonTextTooDeep, JsonLimitError } from '../../input/json-limits.js';

export class MediaEventParseError extends Error {}

/** Peer metadata from a client, checked against the bounds (JsonLimitError past them). */
export function peerMetadata(value: unknown): unknown {
  checkMetadata(value, 'Peer metadata');
  return value;
}

/** Track metadata from a client, checked against the bounds (JsonLimitError past them). */
export function trackMetadata(value: unknown): unknown {
  checkMetadata(value, 'Track metadata');
  return value;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses one client JSON media event; throws MediaEventParseError on malformed input. */
export function parseJsonMediaEvent(text: string): ClientEndpointEvent {
  if (jsonTextTooDeep(text, MAX_ENVELOPE_DEPTH)) throw new JsonLimitError(`Media event is nested deeper than ${MAX_ENVELOPE_DEPTH} levels`);
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    throw new MediaEventParseError('media event is not valid JSON');
  }
  if (!isObject(msg) || typeof msg.type !== 'string') throw new MediaEventParseError('media event has no type');
  const data = msg.data;
  switch (msg.type) {
    case 'connect':
      return { type: 'connect', metadata: peerMetadata(isObject(data) ? (data.metadata ?? null) : null) };
    case 'disconnect':
      return { type: 'disconnect' };
    case 'updateEndpointMetadata':
      return { type: 'updateEndpointMetadata', metadata: peerMetadata(isObject(data) ? (data.metadata ?? null) : null) };
    case 'updateTrackMetadata':
      if (!isObject(data) || typeof data.trackId !== 'string') throw new MediaEventParseError('updateTrackMetadata needs data.trackId');
      return { type: 'updateTrackMetadata', trackId: data.trackId, metadata: trackMetadata(data.trackMetadata ?? null) };
    case 'enableTrackEncoding':
    case 'disableTrackEncoding':
      if (!isObject(data) || typeof data.trackId !== 'string' || !isVariant(data.encoding)) throw new MediaEventParseError(`${msg.type} needs trackId and encoding`);
      return { type: msg.type === 'enableTrackEncoding' ? 'enableTrackVariant' : 'disableTrackVariant', trackId: data.trackId, variant: data.encoding };
    case 'custom':
      if (!isObject(data) || typeof data.type !== 'string') throw new MediaEventParseError('custom event needs data.type');
      return parseCustom(data.type, data.data);
    default:
      return { type: 'media', name: msg.type, data };
  }
}

function isVariant(v: unknown): v is Variant {
  return v === 'l' || v === 'm' || v === 'h';
}

function mapValues(o: Record<string, unknown>, f: (v: unknown) => unknown): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}

function stringRecord(v: unknown): Record<string, string> {
  if (!isObject(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function parseCustom(type: string, data: unknown): ClientEndpointEvent {
  switch (type) {
    case 'renegotiateTracks':
      return { type: 'renegotiateTracks' };
    case 'sdpOffer': {
      const offer = isObject(data) && isObject(data.sdpOffer) ? data.sdpOffer : undefined;
      if (!isObject(data) || !offer || typeof offer.sdp !== 'string') throw new MediaEventParseError('sdpOffer needs data.sdpOffer.sdp');
      return {
        type: 'sdpOffer',
        sdp: offer.sdp,
        trackIdToMetadata: isObject(data.trackIdToTrackMetadata) ? mapValues(data.trackIdToTrackMetadata, trackMetadata) : {},
        midToTrackId: stringRecord(data.midToTrackId),
      };
    }
    case 'candidate':
      if (!isObject(data) || typeof data.candidate !== 'string') throw new MediaEventParseError('candidate needs data.candidate');
      return { type: 'candidate', candidate: data.candidate };
    case 'setTargetTrackVariant':
      if (!isObject(data) || typeof data.trackId !== 'string' || !isVariant(data.variant)) throw new MediaEventParseError('setTargetTrackVariant needs trackId and variant');
      return { type: 'setTargetTrackVariant', trackId: data.trackId, variant: data.variant };
    default:
      return { type: 'media', name: type, data };
  }
}

function simulcastConfig(t: TrackInfo) {
  return { enabled: t.simulcast.enabled, activeEncodings: t.simulcast.active, disabledEncodings: t.simulcast.disabled };
}

function tracksObject(tracks: TrackInfo[]) {
  return Object.fromEntries(tracks.map((t) => [t.id, { metadata: t.metadata ?? null, simulcastConfig: simulcastConfig(t) }]));
}

function trackIdToMetadata(tracks: TrackInfo[]) {
  return Object.fromEntries(tracks.map((t) => [t.id, t.metadata ?? null]));
}

function otherEndpoint(e: EndpointView) {
  return {
    id: e.id,
    type: e.type,
    metadata: e.metadata ?? null,
    trackIdToMetadata: trackIdToMetadata(e.tracks),
    tracks: tracksObject(e.tracks),
  };
}

/** The JSON object for one server event (before stringification). */
export function jsonMediaEvent(event: ServerEndpointEvent): { type: string; data: unknown } {
  switch (event.type) {
    case 'connected':
      return {
        type: 'connected',
        data: { id: event.endpointId, otherEndpoints: event.endpoints.filter((e) => e.id !== event.endpointId).map(otherEndpoint) },
      };
    case 'endpointAdded':
      // No trackIdToMetadata key here: its presence makes the client iterate `tracks`.
      return { type: 'endpointAdded', data: { id: event.endpoint.id, type: event.endpoint.type, metadata: event.endpoint.metadata ?? null } };
    case 'endpointRemoved':
      return { type: 'endpointRemoved', data: { id: event.endpointId } };
    case 'endpointUpdated':
      return { type: 'endpointUpdated', data: { id: event.endpoint.id, metadata: event.endpoint.metadata ?? null } };
    case 'tracksAdded':
      return {
        type: 'tracksAdded',
        data: { endpointId: event.endpointId, trackIdToMetadata: trackIdToMetadata(event.tracks), tracks: tracksObject(event.tracks) },
      };
    case 'tracksRemoved':
      return { type: 'tracksRemoved', data: { endpointId: event.endpointId, trackIds: event.trackIds } };
    case 'trackUpdated':
      return { type: 'trackUpdated', data: { endpointId: event.endpointId, trackId: event.trackId, metadata: event.metadata ?? null } };
    case 'error':
      return { type: 'error', data: { message: event.message } };
    case 'offerData':
      return custom('offerData', { tracksTypes: event.tracksTypes, integratedTurnServers: event.turnServers });
    case 'sdpAnswer':
      return custom('sdpAnswer', { type: 'answer', sdp: event.sdp, midToTrackId: event.midToTrackId });
    case 'candidate':
      return custom('candidate', { candidate: event.candidate, sdpMLineIndex: event.sdpMLineIndex, sdpMid: event.sdpMid, usernameFragment: null });
    case 'encodingSwitched':
      return custom('encodingSwitched', { endpointId: event.endpointId, trackId: event.trackId, encoding: event.variant, reason: event.reason });
    case 'vadNotification':
      return custom('vadNotification', { trackId: event.trackId, status: event.status });
    case 'trackEncodingEnabled':
    case 'trackEncodingDisabled':
      return { type: event.type, data: { endpointId: event.endpointId, trackId: event.trackId, encoding: event.variant } };
  }
}

function custom(type: string, data: unknown): { type: string; data: unknown } {
  return { type: 'custom', data: { type, data } };
}

export function encodeJsonMediaEvent(event: ServerEndpointEvent): string {
  return JSON.stringify(jsonMediaEvent(event));
}
