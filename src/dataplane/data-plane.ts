// The data-plane seam: what a media thread's per-packet path is made of — its SRTP sessions and its TURN
// UDP socket — and which implementation runs it. `js` is the TypeScript plane (SrtpContext, node:dgram),
// `native` the addon's (native/src: SRTP with OpenSSL's AES-NI code, recvmmsg/sendmmsg). FJ_MEDIA_DATAPLANE
// picks one; unset, native runs when the addon loaded, else js with one warning at start. Everything that
// is not per packet (signaling, ICE, DTLS, RTCP, layer choice, the allocator) is TypeScript on both.
// What it must not do: decide media policy, or load the addon more than once per thread.
import { SrtpContext } from '../media/transport/srtp.js';
import type { SrtpSessionFactory } from '../media/transport/srtp-session.js';
import { dgramUdpSocket, type UdpSocketFactory } from '../turn/udp-socket.js';
import { loadNativeAddon, type AddonLoad } from './native-addon.js';
import { nativeSrtpFactory } from './native-srtp.js';
import { nativeUdpSocketFactory } from './native-udp.js';

export type DataPlaneKind = 'native' | 'js';
/** FJ_MEDIA_DATAPLANE: a plane, or auto (native when the addon loaded). */
export type DataPlaneSetting = DataPlaneKind | 'auto';

export interface DataPlane {
  readonly kind: DataPlaneKind;
  readonly srtp: SrtpSessionFactory;
  readonly udpSocket: UdpSocketFactory;
}

export const JS_DATA_PLANE: DataPlane = {
  kind: 'js',
  srtp: (profile, keys, slab) => new SrtpContext(profile, keys, slab),
  udpSocket: dgramUdpSocket,
};

let loaded: AddonLoad | undefined;

/** This thread's addon, loaded on first use (each worker thread loads its own instance). */
function addonLoad(): AddonLoad {
  loaded ??= loadNativeAddon();
  return loaded;
}

/** The plane of `kind` for this thread; throws if native was asked for and the addon does not load. */
export function openDataPlane(kind: DataPlaneKind): DataPlane {
  if (kind === 'js') return JS_DATA_PLANE;
  const load = addonLoad();
  if (!load.addon) throw new Error(`the native data plane cannot be loaded from ${load.path}: ${load.reason}`);
  return { kind: 'native', srtp: nativeSrtpFactory(load.addon), udpSocket: nativeUdpSocketFactory(load.addon) };
}

export class DataPlaneUnavailableError extends Error {
  override name = 'DataPlaneUnavailableError';
}

/**
 * Resolves the setting at start: the plane to run and, when auto fell back to js, the one warning to log.
 * Asking for native explicitly when the addon does not load is an error (the server does not start).
 */
export function chooseDataPlane(setting: DataPlaneSetting): { kind: DataPlaneKind; warning?: string } {
  if (setting === 'js') return { kind: 'js' };
  const load = addonLoad();
  if (load.addon) return { kind: 'native' };
  if (setting === 'native') throw new DataPlaneUnavailableError(`native was asked for but the native data plane cannot be loaded from ${load.path}: ${load.reason}`);
  return { kind: 'js', warning: `the native data plane is not available (${load.reason}): media runs on the TypeScript data plane, at several times the CPU per packet` };
}
