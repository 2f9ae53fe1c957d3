import { z } from 'zod';
import { Id, ToolCall, Usage } from './common.js';

/** The one id grammar lives in common.ts; re-exported here for existing importers. */
export { Id };

export const DEFAULT_TIMEOUT_MS = 3_600_000;

/** Body of POST /v1/run and POST /v1/run/stream. */
/** A run's timeout (waiting in its thread's queue plus running), on every way to start one. */
export const TimeoutMs = z
  .number({ error: 'timeout_ms must be a number' })
  .int('timeout_ms must be an integer')
  .positive('timeout_ms must be positive')
  .max(2_147_483_647, 'timeout_ms is too large')
  .describe("Run timeout in ms (queue wait plus running); default: the agent's `timeout_ms`, else 1 hour");

/** What a run start does when its thread already has a queued or running run ("double-texting"). */
export const MultitaskStrategy = z
  .enum(['enqueue', 'reject', 'interrupt', 'rollback'], { error: 'multitask_strategy must be "enqueue", "reject", "interrupt" or "rollback"' })
  .describe(
    "When the thread has a queued or running run: `enqueue` waits in arrival order (default: the agent's `multitask_strategy`, else enqueue); `reject` answers 409 `thread_busy`; `interrupt` cancels it (it ends `cancelled`, stop_reason `interrupted`, keeping what it produced) and starts this one next; `rollback` cancels it and deletes what it stored, then starts this one",
  )
  .meta({ id: 'MultitaskStrategy' });
export type MultitaskStrategy = z.infer<typeof MultitaskStrategy>;

/** A completion webhook: an absolute http(s) URL, checked against the SSRF guard when the run starts. */
export const WebhookUrl = z
  .url({ protocol: /^https?$/, error: 'webhook must be an http(s) URL' })
  .max(2048, 'webhook must be at most 2048 characters')
  .describe('POSTed the run record (Standard Webhooks signature) when the run ends or waits for input; private addresses are refused (400) unless allow-listed');

/** `background: true`: answer 202 with the run record at once (a literal union: REST bodies coerce booleans). */
export const Background = z
  .union([z.literal(true), z.literal(false)], { error: 'background must be true or false' })
  .describe('true: answer 202 with the run record at once; then poll GET /v1/runs/{id}, wait on GET /v1/runs/{id}/wait or follow GET /v1/runs/{id}/events');

/** The fields every way to start a run takes beside its input. */
export const runStartOptions = {
  multitask_strategy: MultitaskStrategy.optional(),
  webhook: WebhookUrl.optional(),
};

export const RunRequest = z
  .strictObject({
    prompt: z.string({ error: 'prompt must be a string' }).refine((s) => s.trim().length > 0, 'prompt must not be blank'),
    session_id: Id.optional(),
    timeout_ms: TimeoutMs.optional(),
    agent_id: Id.optional(),
    background: Background.optional(),
    ...runStartOptions,
  })
  .meta({ id: 'RunRequest' });
export type RunRequest = z.infer<typeof RunRequest>;

export const RunResult = z
  .object({
    session_id: z.string(),
    run_id: z.string(),
    output: z.string(),
    stop_reason: z.string().nullable(),
    usage: Usage,
    tool_calls: z.array(ToolCall),
  })
  .meta({ id: 'RunResult' });
export type RunResult = z.infer<typeof RunResult>;
