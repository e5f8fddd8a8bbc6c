// WebSocket keep-alive: pings every interval and terminates a socket that missed the previous pong,
// so a dead client is noticed (and its peer freed) within two intervals. Knows nothing of protocols.
import type { WebSocket } from 'ws';

/** Starts pinging `ws`; returns a function that stops it. */
export function startHeartbeat(ws: WebSocket, intervalMs: number): () => void {
  let alive = true;
  const onPong = () => {
    alive = true;
  };
  ws.on('pong', onPong);
  const timer = setInterval(() => {
    if (!alive) {
      ws.terminate();
      return;
    }
    alive = false;
    try {
      ws.ping();
    } catch {
      ws.terminate();
    }
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    ws.off('pong', onPong);
  };
}
