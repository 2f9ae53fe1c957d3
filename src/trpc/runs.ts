import { tracked } from '@trpc/server';
import { CancelRunResult, CreateRunInput, ListRunsInput, Run, RunEventsInput, RunId, RunInputsInput, RunInputsResult, RunPage, RunWaitInput, RunWaitResult, StartRunInput } from '../../contracts/runs.js';
import { AppError } from '../errors.js';
import { procedure, rest, router } from './init.js';

const tag = 'runs';

export const runsRouter = router({
  list: procedure
    .meta(rest('GET', '/v1/runs', 'List runs, newest first', { tag, errors: [400] }))
    .input(ListRunsInput)
    .output(RunPage)
    .query(({ ctx, input }) => ctx.runs.list(ctx.principal, input)),
  get: procedure
    .meta(rest('GET', '/v1/runs/{id}', 'A run record', { tag, errors: [400, 404] }))
    .input(RunId)
    .output(Run)
    .query(({ ctx, input }) => ctx.runs.read(ctx.principal, input.id)),
  /** A background start: the run record at once (REST: `POST /v1/runs` with `"background": true`). */
  create: procedure
    .input(CreateRunInput)
    .output(Run)
    .mutation(async ({ ctx, input }) => ctx.runs.read(ctx.principal, (await ctx.runs.start(ctx.principal, input, 'trpc')).runId)),
  /** Until the run ends or waits for input, or `timeout` seconds (default 30) pass (REST: `GET /v1/runs/{id}/wait`, 408 then). */
  wait: procedure
    .input(RunWaitInput)
    .output(RunWaitResult)
    .query(({ ctx, input }) => ctx.runs.wait(ctx.principal, input.id, (input.timeout ?? 30) * 1000)),
  cancel: procedure
    .meta(
      rest('POST', '/v1/runs/{id}/cancel', 'Cancel a run that has not ended', {
        tag,
        errors: [400, 404, 409, 413, 415],
        successStatus: 202,
        description: 'A queued, running or waiting run ends with status `cancelled` (on whichever instance executes it); its event stream ends with the terminal event. 409 when the run has already ended.',
      }),
    )
    .input(RunId)
    .output(CancelRunResult)
    .mutation(({ ctx, input }) => ctx.runs.cancel(ctx.principal, input.id)),
  inputs: procedure
    .meta(
      rest('POST', '/v1/runs/{id}/inputs', 'Decisions for a waiting run', {
        tag,
        errors: [400, 404, 409, 413, 415],
        successStatus: 202,
        description:
          'Approve or deny the run\'s pending tool calls (`approval_id` from its `tool.approval.requested` events or `pending`) and/or send results of client-executed tools. Inputs are kept as they arrive; when every one is in, the run continues with the same id (`status: "resumed"`; follow `GET /v1/runs/{id}/events` with `Last-Event-ID`). 409 when the run is not waiting; 404 for an unknown approval or tool call id.',
      }),
    )
    .input(RunInputsInput)
    .output(RunInputsResult)
    .mutation(({ ctx, input: { id, ...body } }) => ctx.runs.inputs(ctx.principal, id, body)),

  /** Events of a run (`tracked` id = seq): stored ones replayed, then live until the run ends. */
  events: procedure.input(RunEventsInput).subscription(async function* ({ ctx, input, signal }) {
    const after = input.lastEventId !== undefined ? seqOf(input.lastEventId) : (input.after ?? 0);
    for await (const e of ctx.runs.events(ctx.principal, input.id, after, signal)) yield tracked(String(e.seq), e.event);
  }),

  /**
   * Starts a run and streams its events. Ids are `<run_id>:<seq>`, so a client that
   * reconnects (sending `lastEventId`) resumes the same run instead of starting another.
   */
  start: procedure.input(StartRunInput).subscription(async function* ({ ctx, input, signal }) {
    const resume = input.lastEventId !== undefined ? startEventId(input.lastEventId) : undefined;
    const runId = resume?.runId ?? (await ctx.runs.start(ctx.principal, input, 'trpc')).runId;
    for await (const e of ctx.runs.events(ctx.principal, runId, resume?.seq ?? 0, signal)) yield tracked(`${runId}:${e.seq}`, e.event);
  }),
});

function seqOf(id: string): number {
  if (!/^\d{1,15}$/.test(id)) throw new AppError('bad_request', 'lastEventId must be an event seq', { issues: [{ path: ['lastEventId'], message: 'not an event seq' }] });
  return Number(id);
}

function startEventId(id: string): { runId: string; seq: number } {
  const m = /^(.+):(\d{1,15})$/.exec(id);
  if (!m) throw new AppError('bad_request', 'lastEventId must be "<run_id>:<seq>"', { issues: [{ path: ['lastEventId'], message: 'not a run event id' }] });
  return { runId: m[1], seq: Number(m[2]) };
}
