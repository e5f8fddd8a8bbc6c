// Generative (fast-check) tests of the STUN/TURN wire code and the TURN server's packet handling
// (issue 10, item 7). Codecs: decodeStun / decodeChannelData return or throw StunDecodeError on any
// bytes; encode → decode round-trips; any single byte changed in a signed message is caught (decode
// error, MESSAGE-INTEGRITY or FINGERPRINT mismatch); the StreamFramer yields exactly the frames of a
// stream however it is split, and on garbage throws StreamFramingError only. Server (in process, no
// sockets; one real-UDP smoke run): random datagrams and mutated Allocate / CreatePermission /
// ChannelBind / Refresh / Send messages (bytes flipped, truncated, attributes added, dropped or given
// random values — re-signed so the handlers see them) never reach the server's catch-all (no error is
// logged), undecodable input is counted in stats.malformed, and a valid client keeps being served.
// Run counts are modest: the file takes a few seconds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { pino } from 'pino';
import {
  Attr,
  StunClass,
  StunDecodeError,
  StunMethod,
  classifyPacket,
  decodeChannelData,
  decodeErrorCode,
  decodeStun,
  encodeChannelData,
  encodeChannelNumber,
  encodeStun,
  encodeU32,
  encodeXorAddress,
  getAttr,
  verifyFingerprint,
  verifyIntegrity,
  type StunAttribute,
} from '../../src/turn/stun-message.js';
import { StreamFramer, StreamFramingError } from '../../src/turn/stream-framer.js';
import { TurnServer, type VirtualRegistration } from '../../src/turn/turn-server.js';
import { TestTurnClient } from '../helpers/turn-client.js';
import { testTurnUdpSocket } from '../helpers/turn-plane.js';
import { longTermKey } from '../../src/turn/turn-credentials.js';
import { InProcessClient, REQUESTED_UDP, logRecorder } from './in-process-client.js';

const bytes = (max = 120) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const tid = fc.uint8Array({ minLength: 12, maxLength: 12 }).map((a) => Buffer.from(a));
const attrType = fc.integer({ min: 0, max: 0xffff }).filter((t) => t !== Attr.MessageIntegrity && t !== Attr.Fingerprint);
const attribute: fc.Arbitrary<StunAttribute> = fc.record({ type: attrType, value: bytes(40) });
const message = fc.record({
  method: fc.integer({ min: 0, max: 0xfff }),
  cls: fc.constantFrom(StunClass.Request, StunClass.Indication, StunClass.SuccessResponse, StunClass.ErrorResponse),
  transactionId: tid,
  attributes: fc.array(attribute, { maxLength: 6 }),
});

/** Bytes shaped like a STUN header (cookie, matching length) followed by random attribute bytes. */
const stunShaped = fc.tuple(fc.integer({ min: 0, max: 0x3fff }), fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a)), tid).map(([type, body, id]) => {
  const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
  const head = Buffer.alloc(20);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(padded.length, 2);
  head.writeUInt32BE(0x2112a442, 4);
  id.copy(head, 8);
  return Buffer.concat([head, padded]);
});

function decodesOrStunError(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof StunDecodeError)) assert.fail(`threw ${String((err as Error).stack ?? err)}`);
  }
}

describe('STUN codecs (property)', () => {
  test('decodeStun: any bytes → a message or StunDecodeError', () => {
    fc.assert(fc.property(fc.oneof(bytes(), stunShaped), (b) => decodesOrStunError(() => decodeStun(b))), { numRuns: 2000 });
  });

  test('decodeChannelData: any bytes → a 0x4000–0x7fff frame within the buffer, or StunDecodeError', () => {
    fc.assert(
      fc.property(bytes(80), (b) => {
        try {
          const cd = decodeChannelData(b);
          assert.ok(cd.channel >= 0x4000 && cd.channel <= 0x7fff);
          assert.ok(cd.data.length <= b.length - 4);
        } catch (err) {
          if (!(err instanceof StunDecodeError)) throw err;
        }
      }),
      { numRuns: 1000 },
    );
  });

  test('encode → decode round-trips, with MESSAGE-INTEGRITY and FINGERPRINT verifying', () => {
    fc.assert(
      fc.property(message, fc.option(bytes(20).filter((k) => k.length > 0), { nil: undefined }), fc.boolean(), (msg, key, fingerprint) => {
        const decoded = decodeStun(encodeStun(msg, { integrityKey: key, fingerprint }));
        assert.equal(decoded.method, msg.method);
        assert.equal(decoded.cls, msg.cls);
        assert.deepEqual(decoded.transactionId, msg.transactionId);
        assert.deepEqual(decoded.attributes.map((a) => [a.type, Buffer.from(a.value)]), msg.attributes.map((a) => [a.type, a.value]));
        if (key) assert.equal(verifyIntegrity(decoded, key), true);
        if (fingerprint) assert.equal(verifyFingerprint(decoded), true);
      }),
      { numRuns: 500 },
    );
  });

  test('any one byte changed in a signed, fingerprinted message is caught', () => {
    const key = Buffer.from('the key');
    fc.assert(
      fc.property(message, fc.nat(), fc.integer({ min: 1, max: 255 }), (msg, at, xor) => {
        const wire = encodeStun(msg, { integrityKey: key, fingerprint: true });
        const i = at % wire.length;
        wire[i]! ^= xor;
        try {
          const d = decodeStun(wire);
          assert.ok(!verifyIntegrity(d, key) || !verifyFingerprint(d) || d.integrityOffset < 0, `byte ${i} change not detected`);
        } catch (err) {
          if (!(err instanceof StunDecodeError)) throw err;
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('StreamFramer (property)', () => {
  const frame = fc.oneof(
    // Methods up to 0xff: larger ones put the first byte past 3, outside STUN's range in RFC 7983's demux.
    message.map((m) => encodeStun({ ...m, method: m.method & 0xff }, { fingerprint: true })),
    fc.tuple(fc.integer({ min: 0x4000, max: 0x7fff }), bytes(70)).map(([ch, data]) => encodeChannelData(ch, data, true)),
  );

  test('yields exactly the frames of a stream, however it is split', () => {
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (frames, cuts) => {
        const stream = Buffer.concat(frames);
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const framer = new StreamFramer();
        const out: Buffer[] = [];
        let from = 0;
        for (const p of [...points, stream.length]) {
          out.push(...framer.push(stream.subarray(from, p)).map((f) => Buffer.from(f)));
          from = p;
        }
        assert.deepEqual(out, frames);
        assert.equal(framer.buffered, 0);
      }),
      { numRuns: 500 },
    );
  });

  test('on garbage it returns frames or throws StreamFramingError, and holds at most one frame', () => {
    fc.assert(
      fc.property(fc.array(bytes(200), { maxLength: 6 }), (chunks) => {
        const framer = new StreamFramer();
        for (const c of chunks) {
          try {
            framer.push(c);
          } catch (err) {
            if (!(err instanceof StreamFramingError)) throw err;
            return;
          }
          assert.ok(framer.buffered < 4 + 0xffff + 20);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

// ---- the server, in process ----

const ERROR = 50;
let server: TurnServer;
let logs: ReturnType<typeof logRecorder>;
let virt: VirtualRegistration;
let delivered: Buffer[];
let witness: InProcessClient;

const peer = () => ({ address: virt.ip, port: virt.port });

function allocatedClient(transport: 'udp' | 'tcp' = 'udp'): InProcessClient {
  const c = new InProcessClient(server, transport);
  const creds = server.credentials(`peer-${randomBytes(3).toString('hex')}`, 3600);
  assert.equal(c.allocate(creds.username, creds.password).cls, StunClass.SuccessResponse);
  assert.equal(c.createPermission(peer()).cls, StunClass.SuccessResponse);
  return c;
}

/** The witness client is still served: Binding answered, its Send indication delivered. */
function assertStillServing(): void {
  assert.equal(witness.request(StunMethod.Binding, [], { auth: false }).cls, StunClass.SuccessResponse);
  const before = delivered.length;
  witness.sendIndication(peer(), Buffer.from('witness'));
  assert.equal(delivered.length, before + 1, 'the witness still reaches its endpoint');
  assert.deepEqual(logs.at(ERROR), [], 'nothing reached the catch-all');
}

/** Whether the server must count `b` as malformed (what the codecs refuse). */
function mustBeMalformed(b: Buffer): boolean {
  switch (classifyPacket(b[0])) {
    case 'unknown':
      return true;
    case 'channel-data':
      try {
        decodeChannelData(b);
        return false;
      } catch {
        return true;
      }
    case 'stun':
      try {
        const d = decodeStun(b);
        return d.fingerprintOffset >= 0 && !verifyFingerprint(d);
      } catch {
        return true;
      }
  }
}

before(() => {
  logs = logRecorder();
  server = new TurnServer({ listenIp: '127.0.0.1', udpPort: 0, advertisedIp: '127.0.0.1', realm: 'turn.stun.localhost', secret: 'fuzz', log: pino({ level: 'warn' }, logs.stream) });
  delivered = [];
  virt = server.registerVirtual({ receive: (data) => void delivered.push(Buffer.from(data)) });
  witness = allocatedClient();
});
after(async () => {
  virt.release();
  await server.stop();
});

describe('TurnServer packet handling (property, in process)', () => {
  test('random datagrams and frames: counted as malformed when undecodable, never thrown on', () => {
    const fuzzed = [new InProcessClient(server, 'udp'), new InProcessClient(server, 'tcp'), allocatedClient('udp'), allocatedClient('tcp')];
    fc.assert(
      fc.property(fc.nat(3), fc.oneof(bytes(), stunShaped, bytes(40).map((b) => Buffer.concat([Buffer.from([0x40, 0x00]), b]))), (who, packet) => {
        const before = server.stats.malformed;
        fuzzed[who]!.feed(packet);
        if (mustBeMalformed(packet)) assert.ok(server.stats.malformed > before, `not counted: ${packet.toString('hex')}`);
        assert.deepEqual(logs.at(ERROR), []);
      }),
      { numRuns: 1500 },
    );
    assertStillServing();
  });

  type Edit =
    | { op: 'flip'; at: number; xor: number }
    | { op: 'truncate'; at: number }
    | { op: 'length'; value: number }
    | { op: 'add'; at: number; attr: StunAttribute }
    | { op: 'drop'; at: number }
    | { op: 'value'; at: number; value: Buffer };
  const edit: fc.Arbitrary<Edit> = fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('length' as const), value: fc.integer({ min: 0, max: 0xffff }) }),
    fc.record({
      op: fc.constant('add' as const),
      at: fc.nat(),
      attr: fc.record({
        type: fc.oneof(attrType, fc.constantFrom(Attr.XorPeerAddress, Attr.ChannelNumber, Attr.Lifetime, Attr.Data, Attr.RequestedTransport, Attr.RequestedAddressFamily, Attr.Username, Attr.Realm, Attr.Nonce)),
        value: bytes(24),
      }),
    }),
    fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('value' as const), at: fc.nat(), value: bytes(24) }),
  );
  const kinds = ['allocate', 'permission', 'channel', 'refresh', 'send', 'binding'] as const;
  type Kind = (typeof kinds)[number];

  /** A valid request (or Send indication) of `kind` from `c`, before USERNAME / REALM / NONCE. */
  function valid(kind: Kind, id: Buffer): { method: number; cls: StunClass; attrs: StunAttribute[] } {
    const xorPeer: StunAttribute = { type: Attr.XorPeerAddress, value: encodeXorAddress(peer(), id) };
    switch (kind) {
      case 'allocate':
        return { method: StunMethod.Allocate, cls: StunClass.Request, attrs: [REQUESTED_UDP] };
      case 'permission':
        return { method: StunMethod.CreatePermission, cls: StunClass.Request, attrs: [xorPeer] };
      case 'channel':
        return { method: StunMethod.ChannelBind, cls: StunClass.Request, attrs: [{ type: Attr.ChannelNumber, value: encodeChannelNumber(0x4007) }, xorPeer] };
      case 'refresh':
        return { method: StunMethod.Refresh, cls: StunClass.Request, attrs: [{ type: Attr.Lifetime, value: encodeU32(600) }] };
      case 'send':
        return { method: StunMethod.Send, cls: StunClass.Indication, attrs: [xorPeer, { type: Attr.Data, value: Buffer.from('payload') }] };
      case 'binding':
        return { method: StunMethod.Binding, cls: StunClass.Request, attrs: [] };
    }
  }

  /**
   * `kind` from `c` with `edits` applied: attribute edits before signing (so with `rightKey` the
   * handlers get past authentication and see the odd values), byte edits after.
   */
  function build(kind: Kind, c: InProcessClient, edits: Edit[], rightKey: boolean): Buffer {
    const id = randomBytes(12);
    const { method, cls, attrs } = valid(kind, id);
    const signed = cls === StunClass.Request && kind !== 'binding';
    if (signed) {
      attrs.push(
        { type: Attr.Username, value: Buffer.from(c.username!) },
        { type: Attr.Realm, value: Buffer.from(c.realm!) },
        { type: Attr.Nonce, value: Buffer.from(c.nonce!) },
      );
    }
    for (const e of edits) {
      if (e.op === 'add') attrs.splice(e.at % (attrs.length + 1), 0, e.attr);
      else if (e.op === 'drop' && attrs.length > 0) attrs.splice(e.at % attrs.length, 1);
      else if (e.op === 'value' && attrs.length > 0) attrs[e.at % attrs.length] = { type: attrs[e.at % attrs.length]!.type, value: e.value };
    }
    let out = encodeStun({ method, cls, transactionId: id, attributes: attrs }, { integrityKey: signed ? (rightKey ? c.key : Buffer.from('wrong')) : undefined, fingerprint: true });
    for (const e of edits) {
      if (e.op === 'flip' && out.length > 0) out[e.at % out.length]! ^= e.xor;
      else if (e.op === 'truncate') out = out.subarray(0, e.at % (out.length + 1));
      else if (e.op === 'length' && out.length >= 4) out.writeUInt16BE(e.value, 2);
    }
    return out;
  }

  /** A client that learnt REALM and NONCE (from a 401) and has the right key, but no allocation. */
  function unallocatedClient(transport: 'udp' | 'tcp'): InProcessClient {
    const c = new InProcessClient(server, transport);
    const creds = server.credentials('peer-fresh', 3600);
    const challenge = c.request(StunMethod.Allocate, [REQUESTED_UDP], { auth: false });
    c.username = creds.username;
    c.realm = getAttr(challenge, Attr.Realm)!.toString();
    c.nonce = getAttr(challenge, Attr.Nonce)!.toString();
    c.key = longTermKey(c.username, c.realm, creds.password);
    return c;
  }

  test('mutated Allocate / CreatePermission / ChannelBind / Refresh / Send / Binding: handled without a throw; a valid client is still served', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds),
        fc.array(edit, { minLength: 1, maxLength: 4 }),
        fc.constantFrom('udp' as const, 'tcp' as const),
        fc.boolean(),
        fc.boolean(),
        (kind, edits, transport, allocated, rightKey) => {
          const c = allocated ? allocatedClient(transport) : unallocatedClient(transport);
          const before = server.stats.malformed;
          const packet = build(kind, c, edits, rightKey);
          c.feed(packet);
          if (mustBeMalformed(packet)) assert.ok(server.stats.malformed > before, 'counted as malformed');
          assert.deepEqual(logs.at(ERROR), [], 'nothing reached the catch-all');
          for (const r of c.received) {
            if (classifyPacket(r[0]) !== 'stun') continue;
            const m = decodeStun(r);
            const code = getAttr(m, Attr.ErrorCode);
            seen.add(code ? String(decodeErrorCode(code).code) : m.cls === StunClass.SuccessResponse ? 'success' : `class ${m.cls}`);
          }
        },
      ),
      { numRuns: 600 },
    );
    // The mutations reached past authentication into the handlers, not only the decoder.
    for (const outcome of ['success', '400', '401', '437', '420']) assert.ok(seen.has(outcome), `no "${outcome}" answer among ${[...seen].join(', ')}`);
    assertStillServing();
  });
});

describe('TurnServer packet handling (real UDP socket)', () => {
  test('random datagrams to the UDP port, then a valid client allocates and relays', async () => {
    const s = new TurnServer({ listenIp: '127.0.0.1', udpPort: 0, advertisedIp: '127.0.0.1', realm: 'r', secret: 'udp-fuzz', log: pino({ level: 'silent' }), udpSocket: testTurnUdpSocket() });
    const { udpPort } = await s.start();
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const packets = fc.sample(fc.oneof(bytes(), stunShaped), { numRuns: 300 });
    for (const p of packets) sock.send(p, udpPort, '127.0.0.1');
    const got: Buffer[] = [];
    const v = s.registerVirtual({ receive: (d) => void got.push(Buffer.from(d)) });
    const c = await TestTurnClient.open('udp', '127.0.0.1', udpPort);
    try {
      const creds = s.credentials('peer-after-fuzz', 3600);
      assert.equal((await c.allocate(creds.username, creds.password)).response.cls, StunClass.SuccessResponse);
      assert.equal((await c.createPermission({ address: v.ip, port: v.port })).cls, StunClass.SuccessResponse);
      c.sendIndication({ address: v.ip, port: v.port }, Buffer.from('hello'));
      await c.binding();
      assert.deepEqual(got, [Buffer.from('hello')]);
      assert.ok(s.stats.malformed > 0);
    } finally {
      c.close();
      sock.close();
      v.release();
      await s.stop();
    }
  });
});
