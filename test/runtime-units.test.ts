import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toModelMessages } from '../src/runtime/history.js';
import { ThreadLocks } from '../src/runtime/thread-lock.js';

describe('toModelMessages', () => {
  const text = (t: string) => ({ type: 'text', text: t });
  it('passes a clean history through', () => {
    const h = [{ role: 'user' as const, content: [text('a')] }, { role: 'assistant' as const, content: [text('b')] }];
    assert.deepEqual(toModelMessages(h), h);
  });

  it('merges consecutive turns of one role', () => {
    const out = toModelMessages([{ role: 'user', content: [text('a')] }, { role: 'user', content: [text('b')] }]);
    assert.deepEqual(out, [{ role: 'user', content: [text('a'), text('b')] }]);
  });

  it('answers a dangling tool call with a synthetic error result, results first', () => {
    const call = { type: 'tool_use', id: 't1', name: 'x', input: {} };
    const out = toModelMessages([
      { role: 'user', content: [text('a')] },
      { role: 'assistant', content: [call] },
      { role: 'user', content: [text('next question')] },
    ]);
    assert.equal(out.length, 3);
    const turn = out[2].content as any[];
    assert.deepEqual([turn[0].type, turn[0].tool_use_id, turn[0].is_error, turn[1].text], ['tool_result', 't1', true, 'next question']);
  });

  it('keeps real results in call order and fills only the missing ones', () => {
    const out = toModelMessages([
      { role: 'user', content: [text('a')] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1' }, { type: 'tool_use', id: 't2' }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't2', content: 'two' }] },
    ]);
    const turn = out[2].content as any[];
    assert.deepEqual(turn.map((b) => [b.tool_use_id, b.is_error ?? false]), [['t1', true], ['t2', false]]);
  });

  it('appends a result turn when the history ends on a tool call', () => {
    const out = toModelMessages([{ role: 'user', content: [text('a')] }, { role: 'assistant', content: [{ type: 'tool_use', id: 't1' }] }]);
    assert.equal(out.at(-1)!.role, 'user');
  });
});

describe('ThreadLocks', () => {
  it('grants one holder per thread in FIFO order', async () => {
    const locks = new ThreadLocks();
    const order: number[] = [];
    const holders = [0, 1, 2].map((i) => locks.acquire('t').then((release) => ({ i, release })));
    const first = await holders[0];
    order.push(first.i);
    let secondGranted = false;
    void holders[1].then(() => (secondGranted = true));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(secondGranted, false);
    first.release();
    const second = await holders[1];
    order.push(second.i);
    second.release();
    const third = await holders[2];
    order.push(third.i);
    third.release();
    assert.deepEqual(order, [0, 1, 2]);
    assert.equal(locks.depth('t'), 0);
  });

  it('lets other threads through and drops an aborted waiter without blocking the queue', async () => {
    const locks = new ThreadLocks();
    const a = await locks.acquire('t');
    const other = await locks.acquire('u');
    other();
    const ac = new AbortController();
    const aborted = locks.acquire('t', ac.signal);
    const third = locks.acquire('t');
    ac.abort('timeout');
    await assert.rejects(aborted, (r) => r === 'timeout');
    a();
    (await third)();
    assert.equal(locks.depth('t'), 0);
  });
});
