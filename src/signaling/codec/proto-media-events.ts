// Translates endpoint events to and from the protobuf media events of @fishjam-cloud/ts-client 0.25.x
// (PeerMessage fields 5 and 6). Peer metadata is wrapped as {peer, server} as cloud apps expect.
// Pure functions: no sockets, no room state.
import { create } from '@bufbuild/protobuf';
import type { ClientEndpointEvent, EndpointView, ServerEndpointEvent } from '../../room/endpoint-events.js';
import type { TrackInfo, Variant as TrackVariant } from '../../room/track.js';
import { CandidateSchema, Variant } from '../../gen/fishjam/media_events/shared_pb.js';
import type { MediaEvent as PeerMediaEvent } from '../../gen/fishjam/media_events/peer/peer_pb.js';
import {
  MediaEventSchema as ServerMediaEventSchema,
  MediaEvent_EndpointSchema,
  MediaEvent_IceServerSchema,
  MediaEvent_OfferDataSchema,
  MediaEvent_SdpAnswerSchema,
  MediaEvent_TrackSchema,
  MediaEvent_TrackVariantDisabledSchema,
  MediaEvent_TrackVariantEnabledSchema,
  MediaEvent_TrackVariantSwitchedSchema,
  MediaEvent_VadNotificationSchema,
  MediaEvent_VadNotification_Status,
  type MediaEvent as ServerMediaEvent,
  type MediaEvent_Track,
} from '../../gen/fishjam/media_events/server/server_pb.js';
import { MAX_JSON_DEPTH, JsonLimitError, jsonTextTooDeep } from '../../input/json-limits.js';
import { MediaEventParseError, peerMetadata, trackMetadata } from './json-media-events.js';

/** Reads a `*_json` field: empty means null (the client sends "" for undefined). Bounded: JsonLimitError past MAX_JSON_DEPTH. */
export function parseJsonField(text: string): unknown {
  if (text === '') return null;
  if (jsonTextTooDeep(text)) throw new JsonLimitError(`metadata_json is nested deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text);
  } catch {
    throw new MediaEventParseError('metadata_json is not valid JSON');
  }
}

export function toClientEvent(msg: PeerMediaEvent): ClientEndpointEvent {
  const c = msg.content;
  switch (c.case) {
    case 'connect':
      return { type: 'connect', metadata: peerMetadata(parseJsonField(c.value.metadataJson)) };
    case 'disconnect':
      return { type: 'disconnect' };
    case 'updateEndpointMetadata':
      return { type: 'updateEndpointMetadata', metadata: peerMetadata(parseJsonField(c.value.metadataJson)) };
    case 'updateTrackMetadata':
      return { type: 'updateTrackMetadata', trackId: c.value.trackId, metadata: trackMetadata(parseJsonField(c.value.metadataJson)) };
    case 'renegotiateTracks':
      return { type: 'renegotiateTracks' };
    case 'sdpOffer':
      return {
        type: 'sdpOffer',
        sdp: c.value.sdp,
        trackIdToMetadata: Object.fromEntries(Object.entries(c.value.trackIdToMetadataJson).map(([id, json]) => [id, trackMetadata(parseJsonField(json))])),
        midToTrackId: { ...c.value.midToTrackId },
      };
    case 'candidate':
      return { type: 'candidate', candidate: c.value.candidate };
    case 'setTargetTrackVariant':
      return { type: 'setTargetTrackVariant', trackId: c.value.trackId, variant: fromVariant(c.value.variant) };
    case 'enableTrackVariant':
    case 'disableTrackVariant':
      return { type: c.case, trackId: c.value.trackId, variant: fromVariant(c.value.variant) };
    case undefined:
      throw new MediaEventParseError('empty peer media event');
    default:
      return { type: 'media', name: c.case, data: c.value };
  }
}

function fromVariant(v: Variant): TrackVariant {
  switch (v) {
    case Variant.LOW:
      return 'l';
    case Variant.MEDIUM:
      return 'm';
    case Variant.HIGH:
      return 'h';
    default:
      throw new MediaEventParseError(`unknown variant ${v}`);
  }
}

const VARIANTS: Record<TrackVariant, Variant> = { l: Variant.LOW, m: Variant.MEDIUM, h: Variant.HIGH };

function protoTrack(t: TrackInfo): MediaEvent_Track {
  return create(MediaEvent_TrackSchema, {
    metadataJson: JSON.stringify(t.metadata ?? null),
    simulcastConfig: {
      enabled: t.simulcast.enabled,
      enabledVariants: t.simulcast.active.map((v) => VARIANTS[v]),
      disabledVariants: t.simulcast.disabled.map((v) => VARIANTS[v]),
    },
  });
}

function tracksMap(tracks: TrackInfo[]): Record<string, MediaEvent_Track> {
  return Object.fromEntries(tracks.map((t) => [t.id, protoTrack(t)]));
}

function wrappedMetadata(e: EndpointView): string {
  return JSON.stringify({ peer: e.metadata ?? null, server: e.serverMetadata ?? null });
}

export function toServerMediaEvent(event: ServerEndpointEvent): ServerMediaEvent {
  const content = ((): ServerMediaEvent['content'] => {
    switch (event.type) {
      case 'connected':
        return {
          case: 'connected',
          value: {
            $typeName: 'fishjam.media_events.server.MediaEvent.Connected',
            endpointId: event.endpointId,
            endpointIdToEndpoint: Object.fromEntries(
              event.endpoints.map((e) => [
                e.id,
                create(MediaEvent_EndpointSchema, { endpointType: e.type, metadataJson: wrappedMetadata(e), trackIdToTrack: tracksMap(e.tracks) }),
              ]),
            ),
            // Our integrated TURN server: the client's relay candidates reach Shoal's virtual host candidate.
            iceServers: (event.iceServers ?? []).map((t) =>
              create(MediaEvent_IceServerSchema, {
                urls: [t.transport === 'tls' ? `turns:${t.serverAddr}:${t.serverPort}?transport=tcp` : `turn:${t.serverAddr}:${t.serverPort}?transport=${t.transport}`],
                username: t.username,
                credential: t.password,
              }),
            ),
          },
        };
      case 'endpointAdded':
        return {
          case: 'endpointAdded',
          value: { $typeName: 'fishjam.media_events.server.MediaEvent.EndpointAdded', endpointId: event.endpoint.id, metadataJson: wrappedMetadata(event.endpoint) },
        };
      case 'endpointRemoved':
        return { case: 'endpointRemoved', value: { $typeName: 'fishjam.media_events.server.MediaEvent.EndpointRemoved', endpointId: event.endpointId } };
      case 'endpointUpdated':
        return {
          case: 'endpointUpdated',
          value: { $typeName: 'fishjam.media_events.server.MediaEvent.EndpointUpdated', endpointId: event.endpoint.id, metadataJson: wrappedMetadata(event.endpoint) },
        };
      case 'tracksAdded':
        return {
          case: 'tracksAdded',
          value: { $typeName: 'fishjam.media_events.server.MediaEvent.TracksAdded', endpointId: event.endpointId, trackIdToTrack: tracksMap(event.tracks) },
        };
      case 'tracksRemoved':
        return {
          case: 'tracksRemoved',
          value: { $typeName: 'fishjam.media_events.server.MediaEvent.TracksRemoved', endpointId: event.endpointId, trackIds: event.trackIds },
        };
      case 'trackUpdated':
        return {
          case: 'trackUpdated',
          value: {
            $typeName: 'fishjam.media_events.server.MediaEvent.TrackUpdated',
            endpointId: event.endpointId,
            trackId: event.trackId,
            metadataJson: JSON.stringify(event.metadata ?? null),
          },
        };
      case 'error':
        return { case: 'error', value: { $typeName: 'fishjam.media_events.server.MediaEvent.Error', message: event.message } };
      case 'offerData':
        return { case: 'offerData', value: create(MediaEvent_OfferDataSchema, { tracksTypes: event.tracksTypes }) };
      case 'sdpAnswer':
        return { case: 'sdpAnswer', value: create(MediaEvent_SdpAnswerSchema, { sdp: event.sdp, midToTrackId: event.midToTrackId }) };
      case 'candidate':
        return {
          case: 'candidate',
          value: create(CandidateSchema, { candidate: event.candidate, sdpMLineIndex: event.sdpMLineIndex, sdpMid: event.sdpMid ?? '' }),
        };
      case 'encodingSwitched':
        return {
          case: 'trackVariantSwitched',
          value: create(MediaEvent_TrackVariantSwitchedSchema, { endpointId: event.endpointId, trackId: event.trackId, variant: VARIANTS[event.variant] }),
        };
      case 'trackEncodingEnabled':
        return {
          case: 'trackVariantEnabled',
          value: create(MediaEvent_TrackVariantEnabledSchema, { endpointId: event.endpointId, trackId: event.trackId, variant: VARIANTS[event.variant] }),
        };
      case 'trackEncodingDisabled':
        return {
          case: 'trackVariantDisabled',
          value: create(MediaEvent_TrackVariantDisabledSchema, { endpointId: event.endpointId, trackId: event.trackId, variant: VARIANTS[event.variant] }),
        };
      case 'vadNotification':
        return {
          case: 'vadNotification',
          value: create(MediaEvent_VadNotificationSchema, {
            trackId: event.trackId,
            status: event.status === 'speech' ? MediaEvent_VadNotification_Status.SPEECH : MediaEvent_VadNotification_Status.SILENCE,
          }),
        };
    }
  })();
  return create(ServerMediaEventSchema, { content });
}
