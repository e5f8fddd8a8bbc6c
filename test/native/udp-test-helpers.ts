// Shared by the native UdpPort tests (udp-port.test.ts, udp-port-workers.test.ts): bounded waits, distinct
// payloads and node:dgram peers on the loopback.
// What it must not do: touch the addon (the tests drive it themselves).
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';

export const LOOPBACK4 = 0x7f000001;
export const BIG_BUFFER = 4 << 20;

/** Rejects when `promise` has not settled within `ms` (every wait here is bounded). */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Distinct content per seed: the seed in the first 4 bytes (when they fit), then a pattern. */
export function payload(seed: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let k = 0; k < length; k++) b[k] = (seed * 31 + k * 7) & 255;
  if (length >= 4) b.writeUInt32BE(seed, 0);
  return b;
}


export async function dgramPeer(type: 'udp4' | 'udp6', address: string): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type, recvBufferSize: BIG_BUFFER, sendBufferSize: BIG_BUFFER });
  await within(2000, 'dgram bind', new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, address, () => resolve());
  }));
  return s;
}

/** The next `n` datagrams `s` receives. */
export function collect(s: dgram.Socket, n: number, ms = 5000): Promise<Buffer[]> {
  const out: Buffer[] = [];
  return within(ms, `${n} datagrams at the dgram peer`, new Promise<Buffer[]>((resolve) => {
    const on = (msg: Buffer): void => {
      out.push(msg);
      if (out.length === n) {
        s.off('message', on);
        resolve(out);
      }
    };
    s.on('message', on);
  }));
}

export function sendAll(s: dgram.Socket, datagrams: Buffer[], port: number, address: string): Promise<void> {
  let left = datagrams.length;
  return within(5000, 'dgram sends', new Promise<void>((resolve, reject) => {
    for (const d of datagrams) s.send(d, port, address, (err) => (err ? reject(err) : --left === 0 && resolve()));
  }));
}

export function ipv6Loopback(): boolean {
  return readFileSync('/proc/net/if_inet6', 'utf8').split('\n').some((l) => l.startsWith('00000000000000000000000000000001'));
}

/** A port that is free again (its socket closed) can be bound by dgram. */
export async function portIsFree(port: number): Promise<boolean> {
  const s = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(port, '127.0.0.1', () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    s.close();
  }
}
