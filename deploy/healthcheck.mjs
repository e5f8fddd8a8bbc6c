// Health probe of a local Shoal (the Docker HEALTHCHECK, and CI's check of the production install):
// GET /health with the server API token, exit 0 when it answers 200 with status UP, 1 otherwise.
// It reads the server's own variables: FJ_SERVER_API_TOKEN, FJ_IP, FJ_PORT (or their JF_ fallbacks).
// Plain JavaScript, no dependencies: it runs with `node deploy/healthcheck.mjs` on Node 20 or later.
const env = process.env;
const setting = (name) => env[`FJ_${name}`] || env[`JF_${name}`] || undefined;

const token = setting('SERVER_API_TOKEN');
if (!token) {
  console.error('healthcheck: FJ_SERVER_API_TOKEN is not set');
  process.exit(1);
}
const bind = setting('IP') ?? '127.0.0.1';
// A wildcard bind answers on loopback; a specific address only on itself.
const ip = bind === '0.0.0.0' ? '127.0.0.1' : bind === '::' ? '::1' : bind;
const url = `http://${ip.includes(':') ? `[${ip}]` : ip}:${setting('PORT') ?? '5002'}/health`;

try {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(4000) });
  const body = await res.json().catch(() => undefined);
  const status = body?.data?.status;
  if (res.status === 200 && status === 'UP') process.exit(0);
  console.error(`healthcheck: ${url} answered ${res.status}${status ? ` (status ${status})` : ''}`);
} catch (err) {
  console.error(`healthcheck: ${url} failed: ${err instanceof Error ? err.message : String(err)}`);
}
process.exit(1);
