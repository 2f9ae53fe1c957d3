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

export const RunRequest = z
  .strictObject({
    prompt: z.string({ error: 'prompt must be a string' }).refine((s) => s.trim().length > 0, 'prompt must not be blank'),
    session_id: Id.optional(),
    timeout_ms: TimeoutMs.optional(),
    agent_id: Id.optional(),
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
