// Runs the Janus bench inside a network namespace it creates, so that all media stays on a test host
// address of our own (10.213.0.1 on a veth inside the namespace) instead of this machine's real interfaces:
// Janus never offers loopback ICE candidates, so 127.0.0.1 alone cannot carry its media.
// Needs root and iproute2 (`ip`). Removes the namespace when the child exits.
import { execFileSync, spawn } from 'node:child_process';

export const NETNS_ADDRESS = '10.213.0.1';
const MARKER = 'SHOAL_BENCH_IN_NETNS';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'inherit' });
}

/**
 * In the parent: creates the namespace, re-runs this script inside it and exits with its code (never
 * returns). Inside the namespace: returns, with JANUS_ICE_ADDRESS pointing at the test host address.
 */
export async function ensureInNetns(script: string): Promise<void> {
  if (process.env[MARKER] === '1') {
    process.env.JANUS_ICE_ADDRESS = NETNS_ADDRESS;
    return;
  }
  const ns = `shoal-bench-${process.pid}`;
  ip('netns', 'add', ns);
  try {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    // A veth pair with both ends inside the namespace (no dummy module here) carries the test address.
    ip('-n', ns, 'link', 'add', 'tb0', 'type', 'veth', 'peer', 'name', 'tb1');
    ip('-n', ns, 'addr', 'add', `${NETNS_ADDRESS}/24`, 'dev', 'tb0');
    ip('-n', ns, 'link', 'set', 'tb0', 'up');
    ip('-n', ns, 'link', 'set', 'tb1', 'up');
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', script, ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, [MARKER]: '1' },
    });
    const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
    ip('netns', 'del', ns);
    process.exit(code);
  } catch (err) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // already gone
    }
    throw err;
  }
}
