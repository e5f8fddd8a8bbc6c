// GET /health: liveness in Fishjam's shape (single node: distribution disabled).
import type { FastifyInstance } from 'fastify';
import { AUTH, type ApiDeps } from '../api-deps.js';
import { UNAUTHORIZED, jsonReply } from '../schemas.js';

export async function healthRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const schema = { tags: ['health'], operationId: 'healthcheck', summary: 'Server health', response: { 200: jsonReply('HealthcheckResponse', 'Server is up'), ...UNAUTHORIZED } };
  app.get('/health', { config: AUTH, schema }, async () => ({
    data: {
      status: 'UP',
      uptime: Math.floor((Date.now() - deps.startedAt) / 1000),
      distribution: { enabled: false, nodeStatus: 'DOWN', nodesInCluster: 0 },
      version: deps.version,
      gitCommit: deps.config.gitCommit,
    },
  }));
}
