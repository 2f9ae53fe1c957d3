import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunEvent } from '../contracts/events.js';
import { MAX_STATE_BYTES, createStateTools, parsePatch, type ThreadStateStore } from '../src/runtime/tools/state.js';
import type { ToolContext } from '../src/runtime/tools/tool.js';

function setup(initial: unknown = null) {
  const states = new Map<string, unknown>([['t1', initial]]);
  const store: ThreadStateStore = {
    getState: async (id) => structuredClone(states.get(id) ?? null),
    setState: async (id, s) => {
      // Slow writes make lost updates visible if calls were not serialised.
      await new Promise((r) => setTimeout(r, 5));
      states.set(id, structuredClone(s));
      return true;
    },
  };
  const [get, update] = createStateTools(store);
  const events: RunEvent[] = [];
  const ctx: ToolContext = { signal: new AbortController().signal, runId: 'r1', threadId: 't1', emit: (e) => void events.push(e) };
  return { get, update, ctx, events, states };
}

describe('shared-state tools (get_state / update_state)', () => {
  it('reads the state ({} when there is none)', async () => {
    const { get, ctx } = setup();
    assert.equal(await get.execute({}, ctx), '{}');
    const withState = setup({ a: 1 });
    assert.equal(await withState.get.execute({}, withState.ctx), '{"a":1}');
  });

  it('applies a patch, stores the new state and emits exactly the change as state.delta', async () => {
    const { update, ctx, events, states } = setup({ todos: [{ title: 'a', done: false }] });
    const out = await update.execute(
      {
        patch: [
          { op: 'test', path: '/todos/0/title', value: 'a' },
          { op: 'replace', path: '/todos/0/done', value: true, extra: 'dropped' },
          { op: 'add', path: '/todos/-', value: { title: 'b', done: false } },
          { op: 'copy', from: '/todos/0/title', path: '/last' },
        ],
      },
      ctx,
    );
    const expected = { todos: [{ title: 'a', done: true }, { title: 'b', done: false }], last: 'a' };
    assert.deepEqual(JSON.parse(out as string), expected);
    assert.deepEqual(states.get('t1'), expected);
    assert.deepEqual(events, [
      {
        type: 'state.delta',
        patch: [
          { op: 'replace', path: '/todos/0/done', value: true },
          { op: 'add', path: '/todos/-', value: { title: 'b', done: false } },
          { op: 'copy', from: '/todos/0/title', path: '/last' },
        ],
      },
    ]);
  });

  it('refuses malformed patches, bad pointers, patches that do not apply and prototype changes, changing nothing', async () => {
    const { update, ctx, events, states } = setup({ a: 1 });
    const bad: Array<[unknown, RegExp]> = [
      [undefined, /array/],
      [{ op: 'add' }, /array/],
      [[{ op: 'frobnicate', path: '/a' }], /op must be/],
      [[{ op: 'add', path: 'a', value: 1 }], /JSON Pointer/],
      [[{ op: 'add', path: '/a~2b', value: 1 }], /JSON Pointer/],
      [[{ op: 'add', path: '/b' }], /needs a value/],
      [[{ op: 'move', from: 7, path: '/b' }], /from must be/],
      [[{ op: 'remove', path: '/missing' }], /does not apply/],
      [[{ op: 'test', path: '/a', value: 2 }], /does not apply/],
      [[{ op: 'add', path: '/__proto__/polluted', value: true }], /does not apply/],
      [[{ op: 'add', path: '/big', value: 'x'.repeat(MAX_STATE_BYTES) }], /larger than/],
    ];
    for (const [patch, message] of bad) {
      await assert.rejects(update.execute({ patch }, ctx) as Promise<unknown>, message, JSON.stringify(patch)?.slice(0, 80));
    }
    assert.deepEqual(events, []);
    assert.deepEqual(states.get('t1'), { a: 1 });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('serialises concurrent updates of one thread (no lost update)', async () => {
    const { update, ctx, states, events } = setup({ n: [] });
    await Promise.all(Array.from({ length: 5 }, (_, i) => update.execute({ patch: [{ op: 'add', path: '/n/-', value: i }] }, ctx)));
    assert.deepEqual(states.get('t1'), { n: [0, 1, 2, 3, 4] });
    assert.equal(events.length, 5);
  });

  it('a thread without state starts from {}; test-only patches change nothing and emit nothing', async () => {
    const { update, ctx, events, states } = setup(null);
    assert.equal(await update.execute({ patch: [{ op: 'add', path: '/x', value: 1 }] }, ctx), '{"x":1}');
    assert.deepEqual(states.get('t1'), { x: 1 });
    await update.execute({ patch: [{ op: 'test', path: '/x', value: 1 }] }, ctx);
    assert.equal(events.length, 1);
  });

  it('parsePatch keeps only RFC 6902 members', () => {
    assert.deepEqual(parsePatch([{ op: 'remove', path: '', value: 1 }]), [{ op: 'remove', path: '' }]);
    assert.equal(typeof parsePatch(Array.from({ length: 101 }, () => ({ op: 'remove', path: '/a' }))), 'string');
  });
});
