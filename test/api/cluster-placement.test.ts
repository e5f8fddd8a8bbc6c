// Placement of new rooms in a cluster (pure, fake clock): fewest forwarded tracks wins, then fewest rooms,
// then the lowest id; draining nodes are skipped; rooms placed since a node's last reported count are
// counted until a fresh count arrives or a lease has passed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Placement, pickNode, type RoutingNode } from '../../src/api/cluster-routing.js';

const node = (id: string, forwardedTracks: number, rooms: number, draining = false): RoutingNode => ({ id, apiUrl: `http://${id}`, load: { forwardedTracks, rooms }, draining });

describe('cluster placement', () => {
  test('fewest forwarded tracks, then fewest rooms, then lowest id; draining nodes never', () => {
    assert.equal(pickNode([node('a', 5, 0), node('b', 2, 9), node('c', 3, 0)])?.id, 'b');
    assert.equal(pickNode([node('a', 2, 4), node('b', 2, 1), node('c', 2, 3)])?.id, 'b');
    assert.equal(pickNode([node('c', 0, 0), node('a', 0, 0), node('b', 0, 0)])?.id, 'a');
    assert.equal(pickNode([node('a', 0, 0, true), node('b', 9, 9)])?.id, 'b');
    assert.equal(pickNode([node('a', 0, 0, true)]), undefined);
    assert.equal(pickNode([]), undefined);
  });

  test('a burst between renewals is spread: placed rooms count until the node reports a new count', () => {
    let now = 0;
    const p = new Placement(10_000, () => now);
    const nodes = [node('a', 0, 0), node('b', 0, 0)];
    const picks: string[] = [];
    for (let i = 0; i < 4; i++) {
      const n = p.pick(nodes)!;
      p.record(n);
      picks.push(n.id);
    }
    assert.deepEqual(picks, ['a', 'b', 'a', 'b']);
    // a renews reporting its 2 rooms: the fresh count replaces the local tally (b still counts its 2).
    assert.equal(p.pick([node('a', 0, 2), node('b', 0, 0)])?.id, 'a');
    now += 10_001;
    // A lease later the tally is forgotten: b's report (0) stands.
    assert.equal(p.pick([node('a', 0, 2), node('b', 0, 0)])?.id, 'b');
  });

  test('a placement that came to nothing is taken back; one against an older report is left alone', () => {
    const p = new Placement(10_000, () => 0);
    const nodes = [node('a', 0, 0), node('b', 0, 0)];
    const first = p.pick(nodes)!;
    p.record(first); // in flight: the next create goes elsewhere
    assert.equal(p.pick(nodes)?.id, 'b');
    p.forget(first); // its create failed
    assert.equal(p.pick(nodes)?.id, 'a');
    p.forget(first); // nothing left to take back: no negative tally
    assert.equal(p.pick([node('a', 0, 1), node('b', 0, 0)])?.id, 'b');
    p.record(nodes[1]);
    p.forget(node('b', 0, 5)); // a record against another report is not this one's
    assert.equal(p.pick(nodes)?.id, 'a');
  });
});
