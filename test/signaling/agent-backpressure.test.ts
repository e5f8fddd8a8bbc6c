// An agent that stops reading its socket: the audio it would hear waits in the server's socket only up to
// MAX_AGENT_SOCKET_BUFFER (1 MiB), the rest is dropped (logged once), the room's other agents keep hearing, and
// once it reads again it is sent audio again (logged with the count dropped). Real SDK agents against an
// in-process Shoal; the stalled agent's TCP reads are paused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { FishjamClient, type FishjamAgent } from '@fishjam-cloud/js-server-sdk';
import type { TestShoal } from '../helpers/server.js';
import type { CapturedLog } from '../log/capture.js';
import { startLoggedShoal } from '../log/logged-shoal.js';

const WAIT_MS = 30_000;

describe('agent socket backpressure', () => {
  let s: TestShoal & { logs: CapturedLog };
  let fishjam: FishjamClient;
  const agents: FishjamAgent[] = [];
  const previousWebSocket = (globalThis as { WebSocket?: unknown }).WebSocket;

  before(async () => {
    (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
    s = await startLoggedShoal({}, 'info');
    fishjam = new FishjamClient({ fishjamId: s.httpUrl, managementToken: s.apiToken });
  });
  after(async () => {
    for (const a of agents) a.disconnect();
    await s?.stop();
    (globalThis as { WebSocket?: unknown }).WebSocket = previousWebSocket;
  });

  test('a stalled agent’s audio is dropped past the bound, others keep hearing, and it resumes when it reads again', async () => {
    const room = await fishjam.createRoom();
    const make = async (options = {}) => {
      const made = await fishjam.createAgent(room.id, options);
      agents.push(made.agent);
      return made;
    };
    const stalled = await make({ output: { audioFormat: 'pcm16', audioSampleRate: 48000 } });
    const witness = await make({ output: { audioFormat: 'pcm16', audioSampleRate: 16000 } });
    let witnessHeard = 0;
    witness.agent.on('trackData', () => void witnessHeard++);
    const tcp = (stalled.agent as unknown as { client: { _socket: Socket } }).client._socket;
    tcp.pause();
    // 3 speakers × 4 tracks × 20 s of 48 kHz PCM: ~1.1 MB a second of PCM for the stalled agent.
    for (let i = 0; i < 3; i++) {
      const { agent } = await make({ subscribeMode: 'manual' });
      for (let k = 0; k < 4; k++) {
        const track = agent.createTrack({ encoding: 'pcm16', sampleRate: 48000, channels: 1 });
        for (let sec = 0; sec < 20; sec++) agent.sendData(track.id, new Uint8Array(96_000).fill(sec + 1));
      }
    }
    const dropping = await s.logs.waitFor('agent does not keep up: dropping its audio', { peerId: stalled.peer.id }, WAIT_MS);
    assert.equal(dropping.level, 'warn');
    assert.ok(witnessHeard > 0, 'the other agent kept hearing');
    const before = witnessHeard;
    tcp.resume();
    const resumed = await s.logs.waitFor('agent keeps up again', { peerId: stalled.peer.id }, WAIT_MS);
    assert.ok(resumed.dropped > 0, `dropped ${resumed.dropped} chunks`);
    const deadline = Date.now() + WAIT_MS;
    while (witnessHeard < before + 50) {
      assert.ok(Date.now() < deadline, 'the witness still hears');
      await new Promise((r) => setTimeout(r, 50));
    }
    await fishjam.deleteRoom(room.id);
  });
});
