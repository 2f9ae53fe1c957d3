import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunEvent } from '../contracts/events.js';
import { LiveRun, type PublishedEvent, type SeqReservation } from '../src/runtime/live-run.js';

const delta = (i: number): RunEvent => ({ type: 'text.delta', id: 't', delta: `w${i}` });
const LOST: RunEvent = { type: 'run.error', status: 'interrupted', code: 'interrupted', message: 'gone', usage: { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 } };

/** A reservation whose extend() the test settles by hand. */
function manual(reserved: number, block: number) {
  const calls: Array<{ upTo: number; settle: (ok: boolean | Error) => void }> = [];
  const seqs: SeqReservation = {
    reserved,
    block,
    extend: (upTo) => new Promise((resolve, reject) => calls.push({ upTo, settle: (ok) => (ok instanceof Error ? reject(ok) : resolve(ok)) })),
    lost: () => LOST,
  };
  return { seqs, calls };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('LiveRun seq reservation', () => {
  it('asks for the next block at half the current one, holds events past it until it is stored, in order', async () => {
    const { seqs, calls } = manual(10, 10);
    const stored: number[] = [];
    const run = new LiveRun('r', 't', 'a', (e) => stored.push(e.seq), 0, seqs);
    const seen: number[] = [];
    run.subscribe((e) => seen.push(e.seq));
    for (let i = 1; i <= 5; i++) run.emit(delta(i));
    assert.equal(calls.length, 0);
    run.emit(delta(6));
    assert.deepEqual(calls.map((c) => c.upTo), [20]);
    for (let i = 7; i <= 13; i++) run.emit(delta(i));
    // 11..13 are past the reservation: neither streamed nor stored yet.
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(stored, seen);
    calls[0].settle(true);
    await run.published();
    assert.deepEqual(seen, Array.from({ length: 13 }, (_, i) => i + 1));
    assert.deepEqual(stored, seen);
    assert.equal(run.lastSeq, 13);
    // Up to 15 the new block lasts; at 16 (past 20 - 5) the next one is asked for.
    run.emit(delta(14));
    run.emit(delta(15));
    assert.equal(calls.length, 1);
    run.emit(delta(16));
    assert.deepEqual(calls.map((c) => c.upTo), [20, 30]);
    assert.equal(run.lastSeq, 16, 'within the reservation: streamed at once');
    calls[1].settle(true);
    await run.published();
  });

  it('retries a failed reservation; when the run was taken over it stops and its followers end on the event after the reservation', async () => {
    const { seqs, calls } = manual(4, 4);
    const run = new LiveRun('r', 't', 'a', () => {}, 0, seqs);
    for (let i = 1; i <= 3; i++) run.emit(delta(i));
    calls[0].settle(new Error('database unreachable'));
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(calls.length, 2, 'retried');
    run.emit(delta(4));
    run.emit(delta(5));
    calls[1].settle(false);
    await run.published();
    assert.ok(run.lost);
    assert.equal(run.signal.reason, 'shutdown');
    assert.ok(run.ended);
    assert.deepEqual(run.events.map((e) => e.seq), [1, 2, 3, 4, 5]);
    assert.deepEqual(run.events.at(-1)!.event, LOST);
    // Not dense any more (a subscriber after any seq it was sent still gets the end).
    for (const after of [0, 3, 4]) {
      const got: PublishedEvent[] = [];
      run.subscribe((e) => got.push(e), after)();
      assert.deepEqual(got.map((e) => e.seq), [1, 2, 3, 4, 5].filter((s) => s > after));
    }
    // Nothing more is published.
    run.emit(delta(6));
    assert.equal(run.events.length, 5);
  });

  it('a run that loses its reservation early ends after the whole reserved range (a gap in seq)', async () => {
    const { seqs, calls } = manual(10, 10);
    const run = new LiveRun('r', 't', 'a', () => {}, 0, seqs);
    for (let i = 1; i <= 6; i++) run.emit(delta(i));
    calls[0].settle(false);
    await run.published();
    assert.deepEqual(run.events.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 11]);
    assert.equal(run.lastSeq, 11);
    for (const [after, want] of [[6, [11]], [3, [4, 5, 6, 11]]] as const) {
      const got: number[] = [];
      run.subscribe((e) => got.push(e.seq), after)();
      assert.deepEqual(got, want);
    }
  });
});
