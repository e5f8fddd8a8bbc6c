import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { configError } from './config-error.js';

const SECRET = 'x'.repeat(40);


describe('configuration from FJ_* variables', () => {
  test('defaults follow Fishjam (dev mode generates an API token)', () => {
    const c = loadConfig({});
    assert.equal(c.ip, '127.0.0.1');
    assert.equal(c.port, 5002);
    assert.equal(c.host, '127.0.0.1:5002');
    assert.equal(c.nodeId, '127.0.0.1:5002');
    assert.equal(c.peerTokenTtlSeconds, 86400);
    assert.equal(c.serverApiTokenGenerated, true);
    assert.ok(c.serverApiToken.length >= 24);
    assert.equal(c.secretKeyBaseGenerated, true);
    assert.ok(c.warnings.some((w) => w.includes('FJ_SECRET_KEY_BASE')));
    assert.equal(c.logLevel, 'info');
  });

  test('production mode refuses to start without FJ_SERVER_API_TOKEN', () => {
    const err = configError({ NODE_ENV: 'production' });
    assert.equal(err.variable, 'FJ_SERVER_API_TOKEN');
    assert.equal(loadConfig({ NODE_ENV: 'production', FJ_SERVER_API_TOKEN: 't' }).serverApiToken, 't');
  });

  test('invalid values name the variable', () => {
    assert.equal(configError({ FJ_PORT: 'abc' }).variable, 'FJ_PORT');
    assert.equal(configError({ FJ_PORT: '70000' }).variable, 'FJ_PORT');
    assert.equal(configError({ FJ_IP: 'not-an-ip' }).variable, 'FJ_IP');
    assert.equal(configError({ FJ_STRUCTURED_LOGGING: 'yes' }).variable, 'FJ_STRUCTURED_LOGGING');
    assert.equal(configError({ FJ_PEER_TOKEN_TTL: '-5' }).variable, 'FJ_PEER_TOKEN_TTL');
    assert.equal(configError({ FJ_SECRET_KEY_BASE: 'short' }).variable, 'FJ_SECRET_KEY_BASE');
    assert.equal(configError({ FJ_SSL_KEY_PATH: '/k' }).variable, 'FJ_SSL_CERT_PATH');
    assert.equal(configError({ FJ_CHECK_ORIGIN: 'not a url' }).variable, 'FJ_CHECK_ORIGIN');
  });

  test('media workers: off by default, a count or auto; a TURN port range must hold one port per worker', () => {
    assert.equal(loadConfig({}).mediaWorkers, 0);
    assert.equal(loadConfig({ FJ_MEDIA_WORKERS: '3' }).mediaWorkers, 3);
    assert.ok(loadConfig({ FJ_MEDIA_WORKERS: 'auto' }).mediaWorkers >= 1);
    assert.equal(configError({ FJ_MEDIA_WORKERS: 'many' }).message, 'FJ_MEDIA_WORKERS: expected auto or an integer 0..64, got "many"');
    assert.equal(configError({ FJ_MEDIA_WORKERS: '65' }).variable, 'FJ_MEDIA_WORKERS');
    assert.equal(loadConfig({ FJ_MEDIA_WORKERS: '2', FJ_WEBRTC_TURN_PORT_RANGE: '50000-50001' }).turnUdpPort, 50000);
    assert.equal(
      configError({ FJ_MEDIA_WORKERS: '3', FJ_WEBRTC_TURN_PORT_RANGE: '50000-50001' }).message,
      'FJ_WEBRTC_TURN_PORT_RANGE: 3 media workers need 3 ports, the range "50000-50001" has 2',
    );
  });

  test('FJ_ wins over the deprecated JF_ fallback, which still works alone', () => {
    assert.equal(loadConfig({ JF_PORT: '6000' }).port, 6000);
    const c = loadConfig({ JF_PORT: '6000', FJ_PORT: '7000' });
    assert.equal(c.port, 7000);
    assert.ok(c.warnings.some((w) => w.includes('JF_PORT')));
  });

  test('several secrets for key rotation, separated by commas', () => {
    const c = loadConfig({ FJ_SECRET_KEY_BASE: `${SECRET}a, ${SECRET}b` });
    assert.deepEqual(c.secretKeyBase, [`${SECRET}a`, `${SECRET}b`]);
    assert.equal(c.secretKeyBaseGenerated, false);
  });

  test('log level: warning maps to warn; an unknown level or NODE_ENV stops the start', () => {
    assert.equal(loadConfig({ FJ_LOG_LEVEL: 'warning' }).logLevel, 'warn');
    assert.equal(configError({ FJ_LOG_LEVEL: 'chatty' }).message, 'FJ_LOG_LEVEL: expected one of debug, info, warning, warn, error, got "chatty"');
    assert.equal(configError({ NODE_ENV: 'prod' }).message, 'NODE_ENV: expected one of production, development, test, got "prod"');
    assert.equal(loadConfig({ NODE_ENV: 'test' }).mode, 'development');
  });

  test('listening publicly while advertising loopback: a warning in development, a refusal in production', () => {
    const dev = loadConfig({ FJ_IP: '0.0.0.0', FJ_WEBRTC_TURN_LISTEN_IP: '0.0.0.0' });
    assert.ok(dev.warnings.some((w) => w.startsWith('FJ_IP is 0.0.0.0 but FJ_HOST is not set, so clients are told localhost:5002')), dev.warnings.join('\n'));
    assert.ok(dev.warnings.some((w) => w.startsWith('FJ_WEBRTC_TURN_LISTEN_IP is 0.0.0.0 but FJ_WEBRTC_TURN_IP (advertised to clients) is 127.0.0.1')));
    const prod = { NODE_ENV: 'production', FJ_SERVER_API_TOKEN: 't', FJ_IP: '0.0.0.0' };
    assert.equal(configError(prod).variable, 'FJ_HOST');
    assert.equal(configError({ ...prod, FJ_HOST: 'media.example.com', FJ_WEBRTC_TURN_LISTEN_IP: '0.0.0.0' }).variable, 'FJ_WEBRTC_TURN_IP');
    const ok = loadConfig({ ...prod, FJ_HOST: 'media.example.com', FJ_WEBRTC_TURN_LISTEN_IP: '0.0.0.0', FJ_WEBRTC_TURN_IP: '203.0.113.7' });
    assert.deepEqual(ok.warnings.filter((w) => w.includes('cannot reach')), []);
    assert.deepEqual(loadConfig({}).warnings.filter((w) => w.includes('cannot reach')), [], 'the loopback default is quiet');
  });

  test('built-in TLS: key and certificate paths together; TURNS on 5349 unless set or off', () => {
    const c = loadConfig({ FJ_SSL_KEY_PATH: '/k.pem', FJ_SSL_CERT_PATH: '/c.pem', FJ_HOST: 'media.example.com:443' });
    assert.deepEqual(c.tls, { keyPath: '/k.pem', certPath: '/c.pem' });
    assert.equal(c.turnTlsPort, 5349);
    assert.equal(c.turnTlsHost, 'media.example.com');
    assert.equal(loadConfig({ FJ_SSL_KEY_PATH: '/k', FJ_SSL_CERT_PATH: '/c', FJ_WEBRTC_TURN_TLS_PORT: '443' }).turnTlsPort, 443);
    assert.equal(loadConfig({ FJ_SSL_KEY_PATH: '/k', FJ_SSL_CERT_PATH: '/c', FJ_WEBRTC_TURN_TLS_PORT: 'off' }).turnTlsPort, undefined);
    assert.equal(loadConfig({}).tls, undefined);
    assert.equal(loadConfig({}).turnTlsPort, undefined);
    assert.equal(configError({ FJ_WEBRTC_TURN_TLS_PORT: '5349' }).variable, 'FJ_WEBRTC_TURN_TLS_PORT');
    assert.equal(loadConfig({}).turnTcpMaxPerIp, 64);
    assert.equal(loadConfig({ FJ_WEBRTC_TURN_TCP_MAX_PER_IP: '500' }).turnTcpMaxPerIp, 500);
    assert.equal(configError({ FJ_WEBRTC_TURN_TCP_MAX_PER_IP: '0' }).variable, 'FJ_WEBRTC_TURN_TCP_MAX_PER_IP');
  });

  test('host, node id, token TTL and origin list are configurable', () => {
    const c = loadConfig({
      FJ_HOST: 'media.example.com',
      FJ_NODE_ID: 'node-7',
      FJ_PEER_TOKEN_TTL: '60',
      FJ_CHECK_ORIGIN: 'https://a.example https://b.example',
    });
    assert.equal(c.host, 'media.example.com');
    assert.equal(c.nodeId, 'node-7');
    assert.equal(c.peerTokenTtlSeconds, 60);
    assert.deepEqual(c.checkOrigin, { kind: 'list', origins: ['https://a.example', 'https://b.example'] });
  });
});

describe('process start', () => {
  const run = async (env: Record<string, string>) => (await import('../helpers/shoal-process.js')).runToExit(env);

  test('an invalid value stops the start with a message naming the variable', async () => {
    const { code, stderr } = await run({ FJ_PORT: 'abc' });
    assert.equal(code, 1);
    assert.match(stderr, /FJ_PORT/);
  });

  test('a busy HTTP, TURN or metrics port stops the start with one line naming the port and its variable', async () => {
    const { createServer } = await import('node:net');
    const { createSocket } = await import('node:dgram');
    const tcp = createServer();
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const busyTcp = (tcp.address() as { port: number }).port;
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    const busyUdp = udp.address().port;
    const { freePort } = await import('../helpers/server.js');
    const http = String(await freePort());
    const free = { FJ_WEBRTC_TURN_PORT: '0', FJ_WEBRTC_TURN_TCP_PORT: '0', FJ_METRICS_PORT: '0' };
    try {
      for (const [env, variable, port] of [
        [{ ...free, FJ_PORT: String(busyTcp) }, 'FJ_PORT', busyTcp],
        [{ ...free, FJ_PORT: http, FJ_WEBRTC_TURN_PORT: String(busyUdp) }, 'FJ_WEBRTC_TURN_PORT', busyUdp],
        [{ ...free, FJ_PORT: http, FJ_WEBRTC_TURN_TCP_PORT: String(busyTcp) }, 'FJ_WEBRTC_TURN_TCP_PORT', busyTcp],
        [{ ...free, FJ_PORT: http, FJ_METRICS_PORT: String(busyTcp) }, 'FJ_METRICS_PORT', busyTcp],
      ] as const) {
        const { code, stderr } = await run({ ...env, FJ_SERVER_API_TOKEN: 't' });
        assert.equal(code, 1, stderr);
        assert.deepEqual(stderr.trim().split('\n'), [`Shoal cannot start: port ${port} (${variable}) on 127.0.0.1 is already in use`]);
      }
    } finally {
      tcp.close();
      udp.close();
    }
  });

  test('an unknown FJ_LOG_LEVEL stops the start', async () => {
    const { code, stderr } = await run({ FJ_LOG_LEVEL: 'chatty' });
    assert.equal(code, 1);
    assert.match(stderr, /^Shoal cannot start: FJ_LOG_LEVEL: expected one of/);
  });

  test('production without FJ_SERVER_API_TOKEN refuses to start', async () => {
    const { code, stderr } = await run({ NODE_ENV: 'production' });
    assert.equal(code, 1);
    assert.match(stderr, /FJ_SERVER_API_TOKEN/);
  });
});

describe('FJ_WEBRTC_TURN_TCP_MAX_PER_IP reaches the TURN server', () => {
  test('with 2, a third TCP connection from this IP is closed at once while two stay open', async () => {
    const { startShoal } = await import('../helpers/server.js');
    const { LocalMediaPlane } = await import('../../src/media/plane/local-media-plane.js');
    const net = await import('node:net');
    const s = await startShoal({ FJ_WEBRTC_TURN_TCP_MAX_PER_IP: '2' });
    const sockets: import('node:net').Socket[] = [];
    try {
      const port = (s.shoal.media as InstanceType<typeof LocalMediaPlane>).boundPorts!.tcpPort!;
      const open = () =>
        new Promise<import('node:net').Socket>((resolve, reject) => {
          const sock = net.connect(port, '127.0.0.1', () => resolve(sock));
          sock.once('error', reject);
          sockets.push(sock);
        });
      await open();
      await open();
      const third = await open();
      const closed = await Promise.race([
        new Promise<boolean>((resolve) => third.once('close', () => resolve(true))),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000)),
      ]);
      assert.equal(closed, true, 'the third connection was closed by the server');
      assert.equal(sockets[0]!.destroyed, false);
      assert.equal(sockets[1]!.destroyed, false);
    } finally {
      for (const sock of sockets) sock.destroy();
      await s.stop();
    }
  });
});
