// NegotiationRounds (mock timers): one round at a time; a request made during a round runs exactly once,
// right after it; how each round ends (offer timeout, settled answer, ICE restart, DTLS + first packet,
// the grace after DTLS, the settle timeout, a failed offer) and that close() leaves no timer behind.
// A round's end is observed as the moment the pending request's `begin` runs.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLIENT_CONNECTED_GRACE_MS,
  NEGOTIATION_SETTLE_TIMEOUT_MS,
  NegotiationRounds,
  OFFER_TIMEOUT_MS,
} from '../../../src/media/session/negotiation-rounds.js';

function setup(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  let begun = 0;
  const rounds = new NegotiationRounds(() => begun++);
  return { rounds, begun: () => begun, tick: (ms: number) => t.mock.timers.tick(ms) };
}

/** A round that has begun, got its offer and sent an answer that needs the transport to reconnect; one more round is pending. */
function answeredUnsettled(t: TestContext) {
  const s = setup(t);
  s.rounds.request();
  s.rounds.offerArrived();
  s.rounds.answerSent(false);
  s.rounds.request();
  assert.equal(s.begun(), 1, 'an unsettled answer does not end the round');
  return s;
}

describe('NegotiationRounds', () => {
  test('request() during a round runs exactly once, right after it ends', (t) => {
    const { rounds, begun } = setup(t);
    rounds.request();
    assert.equal(begun(), 1, 'the first request begins a round at once');
    rounds.request();
    rounds.request();
    rounds.request();
    assert.equal(begun(), 1, 'requests during a round wait for it');
    rounds.offerArrived();
    rounds.answerSent(true);
    assert.equal(begun(), 2, 'the pending request runs as the round ends');
    rounds.offerArrived();
    rounds.answerSent(true);
    assert.equal(begun(), 2, 'three requests made during one round make one round');
    rounds.request();
    assert.equal(begun(), 3, 'with no round under way a request begins at once');
  });

  test('begin is not called again before the round ends, however long it waits', (t) => {
    const { rounds, begun, tick } = setup(t);
    rounds.request();
    tick(OFFER_TIMEOUT_MS - 1);
    rounds.request();
    rounds.offerArrived();
    rounds.answerSent(false);
    for (let i = 0; i < 4; i++) {
      tick(1000);
      rounds.request();
    }
    assert.equal(begun(), 1);
    tick(NEGOTIATION_SETTLE_TIMEOUT_MS);
    assert.equal(begun(), 2, 'the round ends by its settle timeout, then the pending one begins');
  });

  test('an offer that never comes ends the round after OFFER_TIMEOUT_MS', (t) => {
    const { rounds, begun, tick } = setup(t);
    rounds.request();
    rounds.request();
    tick(OFFER_TIMEOUT_MS - 1);
    assert.equal(begun(), 1);
    tick(1);
    assert.equal(begun(), 2);
    tick(OFFER_TIMEOUT_MS);
    assert.equal(begun(), 2, 'the next round times out too, but nothing else was pending');
    rounds.request();
    assert.equal(begun(), 3, 'after the timeout a request begins a round at once');
  });

  test('an offer on the client\'s own (outside a round) makes a round: a request waits for its answer', (t) => {
    const { rounds, begun } = setup(t);
    rounds.offerArrived();
    rounds.request();
    assert.equal(begun(), 0);
    rounds.answerSent(true);
    assert.equal(begun(), 1);
  });

  test('answerSent(true) ends the round at once and counts it', (t) => {
    const { rounds, begun } = setup(t);
    rounds.request();
    rounds.offerArrived();
    rounds.request();
    assert.equal(rounds.rounds, 0);
    rounds.answerSent(true);
    assert.equal(begun(), 2);
    assert.equal(rounds.rounds, 1);
  });

  test('answerSent(false): the round ends when ICE takes up the restarted credentials', (t) => {
    const { rounds, begun, tick } = answeredUnsettled(t);
    tick(NEGOTIATION_SETTLE_TIMEOUT_MS - 1);
    assert.equal(begun(), 1);
    rounds.iceRestarted();
    assert.equal(begun(), 2);
    assert.equal(rounds.rounds, 1);
  });

  test('an ICE restart before any answer does not end the first round', (t) => {
    const { rounds, begun } = setup(t);
    rounds.request();
    rounds.request();
    rounds.iceRestarted();
    assert.equal(begun(), 1);
  });

  test('answerSent(false): the round ends on DTLS up plus the client\'s first packet', (t) => {
    const { rounds, begun, tick } = answeredUnsettled(t);
    rounds.clientActive();
    assert.equal(begun(), 1, 'a packet before DTLS is up does not end the round');
    rounds.transportConnected();
    tick(CLIENT_CONNECTED_GRACE_MS - 1);
    assert.equal(begun(), 1, 'DTLS alone waits for the client');
    rounds.clientActive();
    assert.equal(begun(), 2);
    rounds.clientActive();
    tick(CLIENT_CONNECTED_GRACE_MS * 2);
    assert.equal(begun(), 2, 'later packets and the cancelled grace end nothing more');
  });

  test('answerSent(false): after DTLS with no packet the round ends after CLIENT_CONNECTED_GRACE_MS', (t) => {
    const { rounds, begun, tick } = answeredUnsettled(t);
    rounds.transportConnected();
    tick(CLIENT_CONNECTED_GRACE_MS - 1);
    assert.equal(begun(), 1);
    tick(1);
    assert.equal(begun(), 2);
  });

  test('answerSent(false): with no reconnection the round ends after NEGOTIATION_SETTLE_TIMEOUT_MS from the answer', (t) => {
    const { rounds, begun, tick } = setup(t);
    rounds.request();
    tick(OFFER_TIMEOUT_MS - 1000);
    rounds.offerArrived();
    rounds.answerSent(false);
    rounds.request();
    tick(1000);
    assert.equal(begun(), 1, 'the answer replaced the offer timeout');
    tick(NEGOTIATION_SETTLE_TIMEOUT_MS - 1000 - 1);
    assert.equal(begun(), 1);
    tick(1);
    assert.equal(begun(), 2);
  });

  test('failed() ends the round (with or without an offer)', (t) => {
    const { rounds, begun } = setup(t);
    rounds.request();
    rounds.offerArrived();
    rounds.request();
    rounds.failed();
    assert.equal(begun(), 2);
    rounds.request();
    rounds.failed();
    assert.equal(begun(), 3, 'a round failing before its offer also ends');
    assert.equal(rounds.rounds, 0, 'failed rounds are not answered rounds');
  });

  test('close() cancels the offer timeout', (t) => {
    const { rounds, begun, tick } = setup(t);
    rounds.request();
    rounds.request();
    rounds.close();
    tick(OFFER_TIMEOUT_MS * 3);
    assert.equal(begun(), 1);
  });

  test('close() cancels the settle timeout and the grace after DTLS', (t) => {
    const { rounds, begun, tick } = answeredUnsettled(t);
    rounds.transportConnected();
    rounds.close();
    tick(NEGOTIATION_SETTLE_TIMEOUT_MS * 3);
    assert.equal(begun(), 1, 'no timer fired after close');
  });
});
