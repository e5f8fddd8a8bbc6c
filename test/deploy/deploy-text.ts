// Shared by the test/deploy tests: reading repository files as text, and the server command that the
// image, the systemd unit and CI's check of the production install all start.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;

export function read(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

/** The server process itself (not npm start, which would sit between it and the stop signal). */
export const SERVER_COMMAND = ['node', '--import', 'tsx', 'src/main.ts'];
