// Shoal's structure rules (npm run lint:deps, part of npm test): no import cycles, and imports run one
// way — the Room owns room state and imports no I/O layer; media/ serves the Room through its port;
// generated protobuf code is reached only through the codecs. Type-only imports count too.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      comment: 'No import cycle anywhere in src/ (type-only imports included).',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'room-imports-no-io',
      comment: 'room/ is the single owner of room state: it imports no I/O layer (the SFU reaches it through room/media-port.ts).',
      severity: 'error',
      from: { path: '^src/room/' },
      to: { path: '^src/(media|signaling|api|notify|turn|metrics|cluster|dataplane)/|^src/(server|main)\\.ts$' },
    },
    {
      name: 'media-below-signaling',
      comment: 'media/ implements the Room’s port; it never reaches up into sockets, REST, notifications or metrics.',
      severity: 'error',
      from: { path: '^src/media/' },
      to: { path: '^src/(signaling|api|notify|metrics|cluster)/|^src/(server|main)\\.ts$' },
    },
    {
      name: 'turn-is-a-leaf',
      comment: 'turn/ is a TURN server: it knows no rooms, media sessions, sockets or REST.',
      severity: 'error',
      from: { path: '^src/turn/' },
      to: { path: '^src/(room|media|signaling|api|notify|metrics|cluster|dataplane)/|^src/(server|main)\\.ts$' },
    },
    {
      name: 'dataplane-is-the-packet-seam',
      comment: 'dataplane/ (the seam to the native addon) knows only the per-packet pieces it implements: media/transport/ (SRTP), turn/udp-socket.ts, udp-route.ts and turn-stats.ts, and log/.',
      severity: 'error',
      from: { path: '^src/dataplane/' },
      to: { path: '^src/', pathNot: '^src/(dataplane|media/transport|log)/|^src/turn/(udp-socket|udp-route|turn-stats)\\.ts$' },
    },
    {
      name: 'edges-do-not-import-each-other',
      comment: 'signaling/, api/ and notify/ each talk to the Room, not to each other or to the SFU (notify/ is read by the server socket).',
      severity: 'error',
      from: { path: '^src/(signaling|api|notify)/' },
      to: { path: '^src/(media|turn|api|cluster|dataplane)/|^src/(server|main)\\.ts$', pathNot: '^src/$1/' },
    },
    {
      name: 'cluster-knows-no-domain',
      comment: 'cluster/ (node registry, Redis) imports only config/, log/ and its own files: the server hands it plain functions.',
      severity: 'error',
      from: { path: '^src/cluster/' },
      to: { path: '^src/(room|media|signaling|api|notify|turn|metrics|auth|input|gen|dataplane)/|^src/(server|main)\\.ts$' },
    },
    {
      name: 'gen-only-through-codecs',
      comment: 'Generated protobuf code (src/gen) is imported only by the codecs: signaling/codec/ and notify/server-message.ts.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(gen/|signaling/codec/|notify/server-message\\.ts$)' },
      to: { path: '^src/gen/' },
    },
    {
      name: 'foundations-stay-below',
      comment: 'config/, log/, auth/ and the root helpers know no domain module.',
      severity: 'error',
      from: { path: '^src/(config|log|auth|input)/|^src/(errors|version)\\.ts$' },
      to: { path: '^src/(room|media|signaling|api|notify|turn|metrics|cluster|dataplane)/|^src/(server|main)\\.ts$' },
    },
    {
      name: 'only-the-entry-wires',
      comment: 'server.ts wires everything together and main.ts starts it; nothing imports them back.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/main\\.ts$' },
      to: { path: '^src/(server|main)\\.ts$' },
    },
    {
      name: 'one-logger',
      comment: 'Modules log through log/logger.ts (its Logger type and createLogger), never pino directly.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/log/logger\\.ts$' },
      to: { path: '^node_modules/pino/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: ['^src/', '^node_modules/pino/'],
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.mjs', '.js'] },
  },
};
