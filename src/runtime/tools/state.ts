import jsonpatch from 'fast-json-patch';
import type { Tool } from './tool.js';

/** Where the state tools read and write a thread's shared state (the threads repository). */
export interface ThreadStateStore {
  getState(threadId: string): Promise<unknown>;
  setState(threadId: string, state: unknown): Promise<boolean>;
}

export const GET_STATE = 'get_state';
export const UPDATE_STATE = 'update_state';
export const STATE_TOOLS = [GET_STATE, UPDATE_STATE] as const;

/** A state larger than this (as JSON) is refused: it is sent to clients and, when read, to the model. */
export const MAX_STATE_BYTES = 256 * 1024;
const MAX_OPERATIONS = 100;

/** RFC 6901 JSON Pointer: "" or a sequence of "/token", `~` only as `~0` or `~1`. */
const POINTER = /^(\/([^/~]|~[01])*)*$/;

type Op = { op: 'add' | 'replace' | 'test'; path: string; value: unknown } | { op: 'remove'; path: string } | { op: 'move' | 'copy'; from: string; path: string };

/**
 * Checks the shape of a model-written patch and returns it with only the RFC 6902
 * members, or a message saying what is wrong. Whether it applies is checked later.
 */
export function parsePatch(patch: unknown): Op[] | string {
  if (!Array.isArray(patch)) return 'patch must be an array of JSON Patch (RFC 6902) operations';
  if (patch.length > MAX_OPERATIONS) return `patch has more than ${MAX_OPERATIONS} operations`;
  const ops: Op[] = [];
  for (const [i, raw] of patch.entries()) {
    const where = `operation ${i}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return `${where} must be an object`;
    const o = raw as Record<string, unknown>;
    if (typeof o.path !== 'string' || !POINTER.test(o.path)) return `${where}: path must be a JSON Pointer such as "/items/0" ("" is the whole state)`;
    switch (o.op) {
      case 'add':
      case 'replace':
      case 'test':
        if (!('value' in o) || o.value === undefined) return `${where}: "${o.op}" needs a value`;
        ops.push({ op: o.op, path: o.path, value: o.value });
        break;
      case 'remove':
        ops.push({ op: 'remove', path: o.path });
        break;
      case 'move':
      case 'copy':
        if (typeof o.from !== 'string' || !POINTER.test(o.from)) return `${where}: from must be a JSON Pointer`;
        ops.push({ op: o.op, from: o.from, path: o.path });
        break;
      default:
        return `${where}: op must be one of add, remove, replace, move, copy, test`;
    }
  }
  return ops;
}

/**
 * The built-in shared-state tools (AG-UI shared state, usable by any agent):
 * `get_state` reads the thread's state, `update_state` changes it with a JSON
 * Patch. A change is stored and published as a canonical `state.delta` whose
 * patch applies to the state the run's `state.snapshot` (or earlier deltas)
 * described. A thread without state starts from `{}`.
 */
export function createStateTools(store: ThreadStateStore): Tool[] {
  // Calls of one step run concurrently: serialise read-modify-write per thread.
  const queues = new Map<string, Promise<unknown>>();
  const serial = <T>(threadId: string, fn: () => Promise<T>): Promise<T> => {
    const prev = queues.get(threadId) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    queues.set(threadId, settled);
    void settled.then(() => queues.get(threadId) === settled && queues.delete(threadId));
    return next;
  };

  const getState: Tool = {
    name: GET_STATE,
    description: 'Returns the shared state of this conversation (a JSON document the user interface also shows and edits).',
    input_schema: { type: 'object', properties: {} },
    async execute(_input, ctx) {
      const state = await store.getState(ctx.threadId);
      return JSON.stringify(state ?? {});
    },
  };

  const updateState: Tool = {
    name: UPDATE_STATE,
    description:
      'Changes the shared state of this conversation (a JSON document the user interface also shows) with a JSON Patch (RFC 6902). ' +
      'Paths are JSON Pointers ("/todos/0/done"; "/todos/-" appends to an array). Returns the new state. Read it first with get_state when unsure.',
    input_schema: {
      type: 'object',
      properties: {
        patch: {
          type: 'array',
          description: 'RFC 6902 operations, applied in order, all or nothing',
          items: {
            type: 'object',
            properties: {
              op: { type: 'string', enum: ['add', 'remove', 'replace', 'move', 'copy', 'test'] },
              path: { type: 'string', description: 'JSON Pointer' },
              from: { type: 'string', description: 'JSON Pointer (move, copy)' },
              value: { description: 'The value (add, replace, test)' },
            },
            required: ['op', 'path'],
          },
        },
      },
      required: ['patch'],
    },
    async execute(input: { patch?: unknown }, ctx) {
      const ops = parsePatch(input?.patch);
      if (typeof ops === 'string') throw new Error(ops);
      return serial(ctx.threadId, async () => {
        const current = (await store.getState(ctx.threadId)) ?? {};
        let next: unknown;
        try {
          // Validated, on a copy, prototype changes refused.
          next = jsonpatch.applyPatch(current, ops as jsonpatch.Operation[], true, false, true).newDocument;
        } catch (err) {
          throw new Error(`the patch does not apply to the current state: ${(err as Error).message.split('\n')[0]}`);
        }
        const json = JSON.stringify(next) ?? 'null';
        if (Buffer.byteLength(json) > MAX_STATE_BYTES) throw new Error(`the new state would be larger than ${MAX_STATE_BYTES} bytes`);
        // `test` operations only guard the change; what clients apply is the change itself.
        const delta = ops.filter((o) => o.op !== 'test');
        if (delta.length) {
          ctx.signal.throwIfAborted();
          await store.setState(ctx.threadId, next);
          ctx.emit({ type: 'state.delta', patch: delta as Array<Record<string, unknown>> });
        }
        return json;
      });
    },
  };

  return [getState, updateState];
}
