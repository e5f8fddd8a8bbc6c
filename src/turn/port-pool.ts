// Hands out distinct port numbers from a range for addresses that are advertised but never bound: the
// fake relayed addresses of allocations and the virtual host ports of media endpoints share one pool so
// no two of them (and none of the server's real listening ports, once reserved) can ever collide.
// What it must not do: open sockets, or hand out a port that is still taken.

export class PortPool {
  private readonly taken = new Set<number>();

  constructor(
    readonly min: number,
    readonly max: number,
  ) {
    if (!(Number.isInteger(min) && Number.isInteger(max) && min >= 1 && max <= 65535 && min <= max)) {
      throw new RangeError(`bad port range ${min}-${max}`);
    }
  }

  /** A free port (random, so ports are not guessable/sequential), or undefined when the range is full. */
  acquire(): number | undefined {
    const size = this.max - this.min + 1;
    if (this.taken.size >= size) return undefined;
    for (let i = 0; i < 32; i++) {
      const port = this.min + Math.floor(Math.random() * size);
      if (!this.taken.has(port)) {
        this.taken.add(port);
        return port;
      }
    }
    const start = Math.floor(Math.random() * size);
    for (let i = 0; i < size; i++) {
      const port = this.min + ((start + i) % size);
      if (!this.taken.has(port)) {
        this.taken.add(port);
        return port;
      }
    }
    return undefined;
  }

  /** Marks `port` as in use (e.g. a real listening port); no-op outside the range. */
  reserve(port: number): void {
    if (port >= this.min && port <= this.max) this.taken.add(port);
  }

  release(port: number): void {
    this.taken.delete(port);
  }

  get inUse(): number {
    return this.taken.size;
  }
}
