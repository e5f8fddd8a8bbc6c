// Constant-time comparison of shared secrets (the server API token). Must not log or return the secret.
import { createHash, timingSafeEqual } from 'node:crypto';

/** True when `given` equals `expected`, in time independent of where they differ (lengths hidden by hashing). */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}
