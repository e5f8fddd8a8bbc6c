// GET /health: liveness in Fishjam's shape. Single node: distribution disabled; in a cluster the
// distribution block comes from the node registry's memory (this route never waits on Redis).
import type { FastifyInstance } from 'fastify';
import { AUTH, type ApiDeps } from '../api-deps.js';
import { UNAUTHORIZED, jsonReply } from '../schemas.js';

export async function healthRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const schema = { tags: ['health'], operationId: 'healthcheck', summary: 'Server health', response: { 200: jsonReply('HealthcheckResponse', 'Server is up'), ...UNAUTHORIZED } };
  app.get('/health', { config: AUTH, schema }, async () => ({
    data: {
      status: 'UP',
      uptime: Math.floor((Date.now() - deps.startedAt) / 1000),
      distribution: deps.distribution?.() ?? { enabled: false, nodeStatus: 'DOWN', nodesInCluster: 0 },
      version: deps.version,
      gitCommit: deps.config.gitCommit,
    },
  }));
}
