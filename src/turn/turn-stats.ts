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
}
