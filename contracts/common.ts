import { z } from 'zod';

/**
 * The one id grammar (threads, runs, agents, chats, A2A contexts…): ids name rows in URLs
 * and SQL, so they are printable, bounded and never a path segment such as `.` or `..`
 * (a thread so named could be created but not addressed by the REST routes).
 */
export const Id = z
  .string()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .regex(/^[A-Za-z0-9._:-]+$/, 'may contain only letters, digits and . _ : -')
  .refine((s) => s !== '.' && s !== '..', 'must not be "." or ".."');

/** One error body for every route (REST, tRPC over HTTP, hand-mounted SSE). */
export const ErrorCode = z.enum([
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'request_timeout',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'budget_exceeded',
  'cancelled',
  'thread_busy',
  'timeout',
  'upstream_error',
  'context_overflow',
  'unavailable',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorIssue = z
  .object({
    path: z.array(z.union([z.string(), z.number()])).describe('Where in the input the problem is'),
    message: z.string(),
  })
  .meta({ id: 'ErrorIssue' });

export const ErrorBody = z
  .object({
    error: z.string().describe('Human-readable message'),
    code: ErrorCode,
    issues: z.array(ErrorIssue).optional().describe('Validation problems, one per bad field'),
    run_id: z.string().optional(),
    session_id: z.string().optional(),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof ErrorBody>;

export const Usage = z
  .object({
    input_tokens: z.number().int().nonnegative(),
    output_tokens: z.number().int().nonnegative(),
    cache_read_input_tokens: z.number().int().nonnegative(),
    cache_creation_input_tokens: z.number().int().nonnegative(),
  })
  .meta({ id: 'Usage' });
export type Usage = z.infer<typeof Usage>;

/** A fresh, mutable usage of nothing (runs sum into it). */
export const zeroUsage = (): Usage => ({ input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });

export const Timestamp = z.iso.datetime().describe('ISO 8601 UTC timestamp');

export const RunStatus = z.enum(['queued', 'running', 'waiting', 'completed', 'failed', 'cancelled', 'timed_out', 'interrupted']);
export type RunStatus = z.infer<typeof RunStatus>;

export const ToolCall = z
  .object({
    id: z.string(),
    name: z.string(),
    input: z.unknown(),
    output: z.string(),
    is_error: z.boolean(),
  })
  .meta({ id: 'ToolCall' });
export type ToolCall = z.infer<typeof ToolCall>;

/** What a `waiting` run waits for: decisions on `ask` tool calls and results of client-executed tools. */
export const PendingInputs = z
  .object({
    approvals: z.array(
      z.object({
        approval_id: z.string(),
        tool_call_id: z.string(),
        name: z.string(),
        input: z.unknown(),
        decision: z.object({ approved: z.boolean(), reason: z.string().optional() }).optional().describe('Set once decided; the run continues when every approval is decided'),
      }),
    ),
    client_tool_calls: z.array(
      z.object({ tool_call_id: z.string(), name: z.string(), input: z.unknown(), result: z.object({ output: z.string(), is_error: z.boolean() }).optional() }),
    ),
  })
  .meta({ id: 'PendingInputs' });
export type PendingInputs = z.infer<typeof PendingInputs>;
