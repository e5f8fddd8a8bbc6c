// What the cluster's REST and livestream routing share: one bounded HTTP request to another node's API
// (its answer, or why none came) and passing such an answer back with chosen headers; and how a Redis
// failure is recognised and worded. It decides nothing about where a request goes.
import type { FastifyReply } from 'fastify';
import type { Logger } from '../log/logger.js';

/** Marks a request one node forwarded to another: the receiver handles it locally, never forwards again. */
export const FORWARDED_HEADER = 'x-shoal-forwarded-by';
/** Bound of one forwarded request (connect, answer and body), ms. */
export const FORWARD_TIMEOUT_MS = 3000;
/** The 503 text when the cluster store cannot be reached in time. */
export const CLUSTER_UNAVAILABLE_TEXT = 'Cluster store (Redis) is unavailable, try again later';

/** A forwarded request's answer, or why none came (`refused`: the connection was refused, nothing was sent). */
export type Forwarded = { ok: true; status: number; headers: Headers; payload: Buffer } | { ok: false; refused: boolean };

/** True for the error the cluster's Redis calls reject with when Redis cannot be reached in time. */
export const isClusterUnavailable = (err: unknown): boolean => err instanceof Error && err.name === 'ClusterUnavailableError';

/** Sends one request to another node (bounded by `timeoutMs`); a failure is logged at warn with `context`. */
export async function requestNode(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  timeoutMs: number,
  log: Logger,
  context: Record<string, unknown>,
): Promise<Forwarded> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    return { ok: true, status: res.status, headers: res.headers, payload: Buffer.from(await res.arrayBuffer()) };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    log.warn({ ...context, err: (err as Error).message, timeoutMs }, 'forwarded request failed');
    return { ok: false, refused: cause?.code === 'ECONNREFUSED' };
  }
}

/** Answers with another node's answer: its status, body and the `headers` named. */
export function sendForwarded(reply: FastifyReply, res: Extract<Forwarded, { ok: true }>, headers: readonly string[]): FastifyReply {
  reply.code(res.status);
  for (const h of headers) {
    const v = res.headers.get(h);
    if (v !== null) reply.header(h, v);
  }
  return reply.send(res.payload);
}
