// The TURN server's counters (TurnServer.stats), one object shared by the modules that count into it.
// What it must not do: hold anything but plain counters, or be replaced: modules keep a reference to it.

export interface TurnStats {
  /** Allocations currently alive. */
  allocations: number;
  /** Packets (UDP datagrams or TCP frames) received from clients. */
  packetsIn: number;
  /** Packets sent to clients. */
  packetsOut: number;
  /** Bytes of those packets received from clients (UDP payloads, TCP/TLS frames): all WebRTC traffic in. */
  bytesIn: number;
  /** Bytes of the packets sent to clients: all WebRTC traffic out. */
  bytesOut: number;
  /** Packets dropped or answered 400 because they were malformed. */
  malformed: number;
  /**
   * Relayed packets a virtual endpoint (a media transport) threw on, e.g. DTLS records werift cannot
   * parse; each is dropped. Logged at most once a second (turn-relay.ts).
   */
  endpointErrors: number;
  /** TCP and TLS client connections open now. */
  tcpConnections: number;
  /** TCP/TLS connections refused at once: their IP already had the maximum open (tcpMaxPerIp). */
  tcpRefused: number;
  /** TCP/TLS connections closed for having no allocation within tcpAuthTimeoutMs. */
  tcpUnauthenticatedClosed: number;
  /** TCP/TLS connections closed after tcpIdleTimeoutMs without data from the client. */
  tcpIdleClosed: number;
  /**
   * The UDP socket's own counters where its data plane keeps them (the native one; 0 on node:dgram): reads
   * that returned datagrams (recvmmsg), writes (sendmmsg), datagrams dropped as too large for a receive
   * slot, and datagrams the kernel refused to send.
   */
  udpReceiveBatches: number;
  udpSendCalls: number;
  udpTruncated: number;
  udpSendErrors: number;
}

/** What a UDP socket reports of its own (udp-socket.ts UdpSocket.counters). */
export interface UdpSocketCounters {
  batches: number;
  sendCalls: number;
  truncated: number;
  sendErrors: number;
}

export function emptyTurnStats(): TurnStats {
  return {
    allocations: 0,
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    malformed: 0,
    endpointErrors: 0,
    tcpConnections: 0,
    tcpRefused: 0,
    tcpUnauthenticatedClosed: 0,
    tcpIdleClosed: 0,
    udpReceiveBatches: 0,
    udpSendCalls: 0,
    udpTruncated: 0,
    udpSendErrors: 0,
  };
}

/** Adds `from` into `into` (servers of several media threads summed; the gauges add up too). */
export function addTurnStats(into: TurnStats, from: TurnStats): TurnStats {
  for (const key of Object.keys(into) as (keyof TurnStats)[]) into[key] += from[key] ?? 0;
  return into;
}
