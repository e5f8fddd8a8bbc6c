// The TURN server tests' UDP socket per SHOAL_TEST_DATAPLANE (scripts/test.mjs sets it): native runs them on
// the addon's UdpPort (with its native TURN framing), js or unset on node:dgram (the TypeScript framing).
// What it must not do: fall back silently: native asked for and not loadable is an error.
import { openDataPlane } from '../../src/dataplane/data-plane.js';
import type { UdpSocketFactory } from '../../src/turn/udp-socket.js';

/** The UdpSocketFactory for a test TurnServer's `udpSocket` option (undefined: the default, node:dgram). */
export function testTurnUdpSocket(): UdpSocketFactory | undefined {
  return process.env.SHOAL_TEST_DATAPLANE === 'native' ? openDataPlane('native').udpSocket : undefined;
}
