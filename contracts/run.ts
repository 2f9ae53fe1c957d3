import { z } from 'zod';
import { ToolCall, Usage } from './common.js';

/** Ids name threads in URLs and SQL; keep them printable and bounded. */
export const Id = z
  .string()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .regex(/^[A-Za-z0-9._:@-]+$/, 'may contain only letters, digits and . _ : @ -');

export const DEFAULT_TIMEOUT_MS = 3_600_000;

/** Body of POST /v1/run and POST /v1/run/stream (seed 000). */
export const RunRequest = z
  .strictObject({
    prompt: z.string({ error: 'prompt must be a string' }).refine((s) => s.trim().length > 0, 'prompt must not be blank'),
    session_id: Id.optional(),
    timeout_ms: z
      .number({ error: 'timeout_ms must be a number' })
      .int('timeout_ms must be an integer')
      .positive('timeout_ms must be positive')
      .max(2_147_483_647, 'timeout_ms is too large')
      .optional(),
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
