import { z } from 'zod';
import { PendingInputs, RunStatus, Timestamp, ToolCall, Usage } from './common.js';
import { Cursor, Limit, page } from './pagination.js';
import { Background, Id, RunRequest, runStartOptions } from './run.js';


export const WebhookDelivery = z
  .object({
    id: z.string().describe('The `webhook-id` header: the same on every attempt of this delivery'),
    type: z.string().describe('`run.<status>`: the status the run had reached'),
    state: z.enum(['pending', 'delivered', 'failed']).describe('`pending`: not sent yet or to be retried; `failed`: refused (4xx) or out of attempts'),
    attempts: z.number().int(),
    last_status: z.number().int().nullable().describe("HTTP status of the receiver's last answer (null: none, e.g. a timeout)"),
    last_error: z.string().nullable(),
    next_attempt_at: Timestamp.nullable(),
    delivered_at: Timestamp.nullable(),
    created_at: Timestamp,
  })
  .meta({ id: 'WebhookDelivery' });
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

export const RunWebhook = z.object({ url: z.string(), deliveries: z.array(WebhookDelivery) }).meta({ id: 'RunWebhook' });
export type RunWebhook = z.infer<typeof RunWebhook>;

export const Run = z
  .object({
    id: z.string(),
    thread_id: z.string(),
    agent_id: z.string(),
    origin: z.string().describe('Surface that started it: api, stream, rest, trpc, ag-ui, ai-sdk, a2a'),
    status: RunStatus,
    stop_reason: z.string().nullable(),
    output: z.string().nullable(),
    usage: Usage.nullable().describe('Summed over every model call; null until the run ends'),
    tool_calls: z.array(ToolCall).nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    pending: PendingInputs.nullable().describe('While `waiting`: the approvals and client tool results the run needs'),
    timeout_ms: z.number().int(),
    owner: z.string().nullable().describe("The principal the run's thread belongs to (null: stored before access control)"),
    created_at: Timestamp,
    started_at: Timestamp.nullable(),
    finished_at: Timestamp.nullable(),
    trace_id: z.string().nullable().describe('OpenTelemetry trace id of the request that started the run (null: tracing was off)'),
    cost_usd: z
      .number()
      .nullable()
      .optional()
      .describe('Estimated cost of its model calls in USD, from AGENTSDK_MODEL_PRICES (on single-run reads); null: a model without a price'),
    webhook: RunWebhook.nullable()
      .optional()
      .describe('The completion webhook and each of its deliveries (on single-run reads: GET /v1/runs/{id}, /wait, the 202 of a background start); null: none'),
  })
  .meta({ id: 'Run' });
export type Run = z.infer<typeof Run>;

export const RunPage = page(Run, 'RunPage');

export const RunId = z.strictObject({ id: Id });

export const ListRunsInput = z.strictObject({
  limit: Limit,
  cursor: Cursor.optional(),
  thread_id: Id.optional(),
  agent_id: Id.optional(),
  status: RunStatus.optional(),
  origin: z.string().min(1).max(50).optional(),
  created_after: z.iso.datetime({ offset: true }).optional().describe('Only runs created at or after this time'),
  created_before: z.iso.datetime({ offset: true }).optional().describe('Only runs created before this time'),
  owner: z.string().min(1).max(200).optional().describe('Admins only: runs of this principal (others always see only their own)'),
});
export type ListRunsInput = z.infer<typeof ListRunsInput>;

/** Body of POST /v1/runs (and input of the `runs.start` subscription). */
export const StartRunRequest = z
  .strictObject({
    agent_id: Id.optional().describe('Defaults to the default agent'),
    thread_id: Id.optional().describe('Continue this thread; a new one is created when omitted'),
    prompt: RunRequest.shape.prompt,
    timeout_ms: RunRequest.shape.timeout_ms,
    background: Background.optional(),
    ...runStartOptions,
  })
  .meta({ id: 'StartRunRequest' });
export type StartRunRequest = z.infer<typeof StartRunRequest>;

/** Input of the `runs.create` mutation: a background start (answers the run record at once). */
export const CreateRunInput = StartRunRequest.omit({ background: true });
export type CreateRunInput = z.infer<typeof CreateRunInput>;

/** Query of GET /v1/runs/{id}/wait. */
export const RunWaitQuery = z.strictObject({
  timeout: z.coerce
    .number<number>({ error: 'timeout must be a number of seconds' })
    .min(0, 'timeout must not be negative')
    .max(600, 'timeout must be at most 600 seconds')
    .optional()
    .describe('Seconds to wait for the run to end (default 30, at most 600); then 408 with the run as it is'),
});
export const RunWaitInput = RunWaitQuery.extend({ id: Id });
export type RunWaitInput = z.infer<typeof RunWaitInput>;

/** tRPC `runs.wait`: the run once it has ended (or waits for input), or as it is when the timeout passed. */
export const RunWaitResult = z.object({ timed_out: z.boolean(), run: Run }).meta({ id: 'RunWaitResult' });

const Seq = z.coerce.number<number>({ error: 'must be a number' }).int('must be an integer').min(0, 'must not be negative');

/** Query of GET /v1/runs/{id}/events (`Last-Event-ID` takes precedence). */
export const RunEventsQuery = z.strictObject({ after: Seq.optional().describe('Replay events with seq greater than this') });

/** tRPC subscriptions: the client sends back the last tracked id as `lastEventId` when it reconnects. */
export const RunEventsInput = RunEventsQuery.extend({ id: Id, lastEventId: z.string().optional() });
export type RunEventsInput = z.infer<typeof RunEventsInput>;
export const StartRunInput = StartRunRequest.omit({ background: true }).extend({ lastEventId: z.string().optional() });
export type StartRunInput = z.infer<typeof StartRunInput>;

export const CancelRunResult = z
  .object({
    run_id: z.string(),
    status: z
      .enum(['cancelling', 'cancelled'])
      .describe('`cancelling`: the run was queued or running and ends with status `cancelled`; `cancelled`: it was waiting for input and has ended'),
  })
  .meta({ id: 'CancelRunResult' });

const Reason = z.string().max(2000);
/**
 * A literal union, not z.boolean(): trpc-to-openapi switches coercion on for the booleans of a
 * REST body, and a coerced "false" would approve.
 */
const Approved = z.union([z.literal(true), z.literal(false)], { error: 'approved must be true or false' });

const inputsShape = {
    decisions: z
      .array(z.strictObject({ approval_id: Id, approved: Approved, reason: Reason.optional().describe('Told to the model when denied') }))
      .max(100)
      .optional(),
    tool_results: z
      .array(z.strictObject({ tool_call_id: z.string().min(1).max(200), output: z.string().max(1_000_000), is_error: z.union([z.literal(true), z.literal(false)]).optional() }))
      .max(100)
      .optional(),
};
const someInput = (b: { decisions?: unknown[]; tool_results?: unknown[] }) => (b.decisions?.length ?? 0) + (b.tool_results?.length ?? 0) > 0;
const someInputError = { message: 'send at least one decision or tool result', path: ['decisions'] };

/** Body of POST /v1/runs/{id}/inputs: decisions for a `waiting` run. */
export const RunInputsRequest = z.strictObject(inputsShape).refine(someInput, someInputError).meta({ id: 'RunInputsRequest' });
export type RunInputsRequest = z.infer<typeof RunInputsRequest>;
export const RunInputsInput = z.strictObject({ id: Id, ...inputsShape }).refine(someInput, someInputError);

export const RunInputsResult = z
  .object({
    run_id: z.string(),
    status: z.enum(['resumed', 'waiting']).describe('`resumed`: every input is in and the run continues (follow GET /v1/runs/{id}/events); `waiting`: more inputs are needed'),
    pending: PendingInputs,
  })
  .meta({ id: 'RunInputsResult' });
export type RunInputsResult = z.infer<typeof RunInputsResult>;
