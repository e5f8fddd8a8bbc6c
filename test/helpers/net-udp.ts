// Measures a UDP flow between two namespaces of a topology with net-udp-tool.ts (a receiver started in
// one namespace, then a paced sender in the other): what was sent, what arrived, and the arrival rate;
// and STUN Binding round trips to a UDP address (Shoal's TURN port, or the delay relay in front of it).
// It must not leave either process running (both are bounded and killed on failure).
import { fileURLToPath } from 'node:url';
import { startInNamespace, type NsProcess } from './net-proc.js';

const TOOL = fileURLToPath(new URL('./net-udp-tool.ts', import.meta.url));

export interface UdpFlowResult {
  sent: number;
  received: number;
  bytes: number;
  /** Arrival rate between the first and the last datagram, kbit/s. */
  kbit: number;
  /** The rate the sender achieved (its schedule slips when it stalls), kbit/s. */
  sendKbit: number;
  /** 100 × (sent − received) / sent */
  lossPercent: number;
}

/** Sends `count` datagrams of `size` bytes at `kbit` kbit/s from namespace `fromNs` to `toIp` (in `toNs`). */
export async function udpFlow(o: { fromNs: string; toNs: string; toIp: string; kbit: number; size: number; count: number; port?: number }): Promise<UdpFlowResult> {
  const port = o.port ?? 40_000 + (process.pid % 20_000);
  const sendMs = (o.count * o.size * 8) / o.kbit; // kbit/s = bits/ms
  const boundMs = Math.ceil(sendMs + 20_000);
  const recv = startInNamespace(o.toNs, TOOL, ['recv', o.toIp, String(port), String(boundMs)]);
  let send: NsProcess | undefined;
  try {
    const ready = await recv.nextLine(15_000, 'udp receiver start');
    if (!ready.includes('"ready"')) throw new Error(`udp receiver said ${ready}`);
    send = startInNamespace(o.fromNs, TOOL, ['send', o.toIp, String(port), String(o.kbit), String(o.size), String(o.count)]);
    const sent = JSON.parse(await send.nextLine(boundMs, 'udp sender')) as { sent: number; ms: number };
    const r = JSON.parse(await recv.nextLine(boundMs, 'udp receiver result')) as { packets: number; bytes: number; firstMs: number; lastMs: number };
    const spanMs = r.lastMs - r.firstMs;
    return {
      sent: sent.sent,
      received: r.packets,
      bytes: r.bytes,
      kbit: spanMs > 0 ? ((r.bytes - o.size) * 8) / spanMs : 0,
      sendKbit: sent.ms > 0 ? (sent.sent * o.size * 8) / sent.ms : 0,
      lossPercent: (100 * (sent.sent - r.packets)) / sent.sent,
    };
  } finally {
    recv.kill();
    send?.kill();
  }
}

/** Round-trip times (ms) of `count` STUN Binding requests, one every `intervalMs`, from `fromNs` to ip:port (lost ones left out). */
export async function stunRtts(o: { fromNs: string; ip: string; port: number; count: number; intervalMs: number }): Promise<number[]> {
  const tool = startInNamespace(o.fromNs, TOOL, ['stun', o.ip, String(o.port), String(o.count), String(o.intervalMs)]);
  try {
    const line = await tool.nextLine(o.count * o.intervalMs + 20_000, 'stun round trips');
    return (JSON.parse(line) as { rtts: number[] }).rtts;
  } finally {
    tool.kill();
  }
}
