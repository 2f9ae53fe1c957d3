/**
 * Canonical RunEvent sequences shared by the protocol mapping tests (AG-UI, AI SDK, A2A).
 *
 * Each mapping test makes its scripts with `eventScripts({ runId, threadId, usage })` and feeds
 * them to its own mapper; block ids follow the runtime's scheme, `<message id>_<block index>`.
 * The building blocks (`step`, `textBlock`, `toolCall`...) are exported for one-off sequences.
 */
import type { Usage } from '../../contracts/common.js';
import type { EventOf, RunEvent } from '../../contracts/events.js';

type Finished = EventOf<'run.finished'>;

/** step.started, the blocks, step.finished. */
export const step = (n: number, messageId: string, blocks: RunEvent[], stopReason: string, usage: Usage): RunEvent[] => [
  { type: 'step.started', step: n, message_id: messageId },
  ...blocks,
  { type: 'step.finished', step: n, stop_reason: stopReason, usage },
];

/** A text block streamed as `deltas`. */
export const textBlock = (id: string, deltas: string[]): RunEvent[] => [
  { type: 'text.start', id },
  ...deltas.map((delta): RunEvent => ({ type: 'text.delta', id, delta })),
  { type: 'text.end', id },
];

/** A thinking block streamed as `deltas`, with its signature when given. */
export const reasoningBlock = (id: string, deltas: string[], signature?: string): RunEvent[] => [
  { type: 'reasoning.start', id },
  ...deltas.map((delta): RunEvent => ({ type: 'reasoning.delta', id, delta })),
  signature === undefined ? { type: 'reasoning.end', id } : { type: 'reasoning.end', id, signature },
];

/** A tool call whose arguments stream as `argDeltas` (none: only start and end). */
export const toolCall = (id: string, name: string, input: unknown, argDeltas: string[] = []): RunEvent[] => [
  { type: 'tool.call.start', id, name },
  ...argDeltas.map((delta): RunEvent => ({ type: 'tool.call.delta', id, delta })),
  { type: 'tool.call.end', id, name, input },
];

export const toolResult = (id: string, name: string, output: string, isError = false): RunEvent => ({ type: 'tool.result', id, name, output, is_error: isError });

/** The upstream failure the mapping tests use: the model API answered 529 Overloaded. */
export const OVERLOADED = 'model API error (HTTP 529): Overloaded';

export interface ScriptIds {
  runId: string;
  threadId: string;
  /** Default `'assistant'`. */
  agentId?: string;
  usage: Usage;
}

/** The shared scripts for one set of ids and one usage (every step reports `usage`). */
export function eventScripts({ runId, threadId, agentId = 'assistant', usage }: ScriptIds) {
  const started: RunEvent = { type: 'run.started', run_id: runId, thread_id: threadId, agent_id: agentId };
  const finished = (over: Partial<Omit<Finished, 'type'>> = {}): RunEvent => ({ type: 'run.finished', status: 'completed', output: '', stop_reason: 'end_turn', usage, tool_calls: [], ...over });
  return {
    started,
    finished,
    /** A run whose model failed: `run.error`, status failed, code upstream_error. */
    modelError: (message = OVERLOADED): EventOf<'run.error'> => ({ type: 'run.error', status: 'failed', code: 'upstream_error', message, usage }),

    /** Text reply: one step, one text block streamed as `deltas`, then run.finished. */
    textReply: (messageId: string, deltas: string[], over: Partial<Omit<Finished, 'type'>> = {}): RunEvent[] => [
      started,
      ...step(1, messageId, textBlock(`${messageId}_0`, deltas), 'end_turn', usage),
      finished(over),
    ],

    /** Reasoning, then text, in one step: `<id>_0` is the thinking block (signed `signature`), `<id>_1` the text. */
    reasoningReply: (messageId: string, thinking: string, signature: string, text: string): RunEvent[] => [
      started,
      ...step(1, messageId, [...reasoningBlock(`${messageId}_0`, [thinking], signature), ...textBlock(`${messageId}_1`, [text])], 'end_turn', usage),
      finished(),
    ],

    /**
     * Tool calls and results: step 1 (optional reasoning, then the calls, arguments streamed as
     * `argDeltas`), a result for each call that has an `output`, then optionally step 2 answering
     * `then.text`. run.finished has the answer as output unless `finished` says otherwise.
     */
    toolRun: (opts: {
      messageId: string;
      reasoning?: string[];
      calls: Array<{ id: string; name: string; input: unknown; argDeltas?: string[]; output?: string; isError?: boolean }>;
      then?: { messageId: string; text: string[] };
      finished?: Partial<Omit<Finished, 'type'>>;
    }): RunEvent[] => [
      started,
      ...step(
        1,
        opts.messageId,
        [...(opts.reasoning ? reasoningBlock(`${opts.messageId}_0`, opts.reasoning) : []), ...opts.calls.flatMap((c) => toolCall(c.id, c.name, c.input, c.argDeltas))],
        'tool_use',
        usage,
      ),
      ...opts.calls.flatMap((c) => (c.output === undefined ? [] : [toolResult(c.id, c.name, c.output, c.isError)])),
      ...(opts.then ? step(2, opts.then.messageId, textBlock(`${opts.then.messageId}_0`, opts.then.text), 'end_turn', usage) : []),
      finished(opts.finished ?? (opts.then ? { output: opts.then.text.join('') } : {})),
    ],
  };
}
