// The TURN server's counters (TurnServer.stats), one object shared by the modules that count into it.
// What it must not do: hold anything but plain counters, or be replaced: modules keep a reference to it.

export interface TurnStats {
  /** Allocations currently alive. */
  allocations: number;
  /** Packets (UDP datagrams or TCP frames) received from clients. */
  packetsIn: number;
  /** Packets sent to clients. */
  packetsOut: number;
  /** Packets dropped or answered 400 because they were malformed. */
  malformed: number;
  /**
   * Relayed packets a virtual endpoint (a media transport) threw on, e.g. DTLS records werift cannot
   * parse; each is dropped. Logged at most once a second (turn-relay.ts).
   */
  endpointErrors: number;
}
