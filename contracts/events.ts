import { z } from 'zod';
import { RunStatus, ToolCall, Usage } from './common.js';

/**
 * Canonical run events. Every protocol is a pure mapping from these.
 * `seq` numbers events 1, 2, … per run; it is carried beside the event, not inside.
 */
const e = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.object({ type: z.literal(type), ...shape });

export const RunEvent = z
  .discriminatedUnion('type', [
    e('run.started', { run_id: z.string(), thread_id: z.string(), agent_id: z.string(), resumed: z.boolean().optional().describe('A waiting run continues after its inputs arrived') }),
    e('step.started', { step: z.number().int(), message_id: z.string().describe('Id of the assistant message this step produces') }),
    e('text.start', { id: z.string() }),
    e('text.delta', { id: z.string(), delta: z.string() }),
    e('text.end', { id: z.string() }),
    e('reasoning.start', { id: z.string() }),
    e('reasoning.delta', { id: z.string(), delta: z.string() }),
    e('reasoning.end', { id: z.string(), signature: z.string().optional() }),
    e('tool.call.start', { id: z.string(), name: z.string() }),
    e('tool.call.delta', { id: z.string(), delta: z.string() }),
    e('tool.call.end', { id: z.string(), name: z.string(), input: z.unknown() }),
    e('tool.result', {
      id: z.string(),
      name: z.string(),
      output: z.string(),
      is_error: z.boolean(),
      denied: z.boolean().optional().describe('A human denied the call; `output` says so to the model'),
      duration_ms: z.number().int().nonnegative().optional().describe('Server tools: how long the call took'),
    }),
    e('tool.approval.requested', { id: z.string(), approval_id: z.string(), name: z.string(), input: z.unknown() }),
    e('state.snapshot', { state: z.unknown() }),
    e('context.compacted', {
      turns: z.number().int().describe('Stored turns this compaction summarised (they stay stored; the model gets the summary instead)'),
      through_message_id: z.string().describe('The last message the summary covers'),
      tokens_before: z.number().int().describe('Estimated input tokens before'),
      tokens_after: z.number().int().describe('Estimated input tokens after'),
    }),
    e('state.delta', { patch: z.array(z.record(z.string(), z.unknown())) }),
    e('step.finished', {
      step: z.number().int(),
      stop_reason: z.string().nullable(),
      usage: Usage,
      duration_ms: z.number().int().nonnegative().optional().describe('The model call, from its request to the end of its stream'),
      first_token_ms: z.number().int().nonnegative().nullable().optional().describe('From the request to the first text, reasoning or tool delta (null: none came)'),
    }),
    e('run.finished', {
      status: RunStatus,
      output: z.string(),
      stop_reason: z.string().nullable(),
      usage: Usage,
      tool_calls: z.array(ToolCall),
    }),
    e('run.error', { status: RunStatus, code: z.string(), message: z.string(), usage: Usage }),
  ])
  .meta({ id: 'RunEvent' });
export type RunEvent = z.infer<typeof RunEvent>;
export type RunEventType = RunEvent['type'];
export type EventOf<T extends RunEventType> = Extract<RunEvent, { type: T }>;

export const TERMINAL_EVENTS: ReadonlySet<RunEventType> = new Set(['run.finished', 'run.error']);
