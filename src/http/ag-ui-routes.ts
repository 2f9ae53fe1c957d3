import { Router, type Request } from 'express';
import { EventEncoder } from '@ag-ui/encoder';
import { AgUiAgentParams, AgUiListMessagesQuery, AgUiRunRequest, AgUiThreadParams, type AgUiMessagePage } from '../../contracts/ag-ui.js';
import { AppError } from '../errors.js';
import { AgUiMapper } from '../protocols/ag-ui/mapper.js';
import { agUiApprovalAnswers, planAgUiRun } from '../protocols/ag-ui/input.js';
import { turnToAgUi } from '../protocols/ag-ui/history.js';
import type { Runtime } from '../runtime/runtime.js';
import { STATE_TOOLS } from '../runtime/tools/state.js';
import type { Store } from '../store/store.js';
import { readJsonObject } from './json-body.js';
import { SseStream } from './sse.js';
import { validate } from './validate.js';

/** Keep-alive: an SSE comment, which AG-UI clients skip. */
export const AG_UI_PING = ': ping\n\n';

/**
 * AG-UI (SPEC §5):
 * - POST /v1/ag-ui/agents/:agentId/runs — RunAgentInput in, AG-UI event stream out.
 * - GET  /v1/ag-ui/threads/:id/messages — the thread as AG-UI messages, paginated.
 */
export function agUiRoutes(runtime: Runtime, store: Store, opts: { ssePingMs: number }): Router {
  const r = Router();
  // Always SSE (`data: <json>\n\n`): the protobuf framing is not offered.
  const encoder = new EventEncoder();

  r.post('/v1/ag-ui/agents/:agentId/runs', async (req, res) => {
    const { agentId } = validate(AgUiAgentParams, req.params, 'path');
    const agent = runtime.agents.get(agentId);
    if (!agent) throw new AppError('not_found', `unknown agent "${agentId}"`);
    const body = validate(AgUiRunRequest, await readJsonObject(req));

    const thread = await store.threads.get(body.threadId);
    const stored = thread ? await store.messages.list(body.threadId) : [];
    // Tool messages answering a waiting run's approvals continue that run (see agUiApprovalAnswers).
    const waiting = thread ? await store.runs.latestWaiting(body.threadId) : undefined;
    const answers = waiting?.pending && waiting.agent_id === agentId ? agUiApprovalAnswers(body, waiting.pending) : undefined;
    const rest = answers ? { ...body, messages: body.messages.filter((m) => !(m.role === 'tool' && answers.answered.has(m.toolCallId))) } : body;
    const plan = planAgUiRun(rest, stored, thread !== undefined && thread.state !== null, { nothingNewOk: answers !== undefined });
    await refuseForeignIds(store, body.threadId, plan.messages.flatMap((m) => (m.id ? [m.id] : [])));

    // Everything above answers with a JSON error; from here on the answer is the stream.
    const run = answers
      ? (
          await runtime.resume(
            waiting!.id,
            {
              decisions: answers.decisions,
              tool_results: answers.tool_results,
              messages: plan.messages,
              clientTools: plan.clientTools,
              context: plan.context,
              ...('state' in plan ? { state: plan.state } : {}),
              ...(plan.stateTools ? { extraTools: [...STATE_TOOLS] } : {}),
            },
            { origin: 'ag-ui', complete: true },
          )
        ).run!
      : await runtime.start({
      agentId,
      threadId: body.threadId,
      runId: body.runId,
      messages: plan.messages,
      clientTools: plan.clientTools,
      context: plan.context,
      ...('state' in plan ? { state: plan.state } : {}),
      ...(plan.stateTools ? { extraTools: [...STATE_TOOLS] } : {}),
      origin: 'ag-ui',
    });
    const mapper = new AgUiMapper({ threadId: body.threadId, runId: body.runId, parentRunId: body.parentRunId, model: agent.model });
    const sse = new SseStream(res, { pingMs: opts.ssePingMs, ping: AG_UI_PING });
    // The run goes on when the client leaves; only the subscription ends.
    const unsubscribe = run.subscribe((e) => {
      for (const event of mapper.map(e.event)) sse.write(encoder.encodeSSE(event));
      if (mapper.finished) sse.end();
    });
    sse.onClose(unsubscribe);
  });

  r.get('/v1/ag-ui/threads/:id/messages', async (req, res) => {
    const { id } = validate(AgUiThreadParams, req.params, 'path');
    const q = validate(AgUiListMessagesQuery, queryObject(req), 'query');
    if (!(await store.threads.get(id))) throw new AppError('not_found', `unknown thread "${id}"`);
    const page = await store.messages.page(id, { limit: q.limit, after: q.after, before: q.before, order: q.order, runId: q.run_id });
    // Descending pages are the exact reverse of ascending ones, messages within a turn included.
    const items = page.items.flatMap((m) => (q.order === 'desc' ? turnToAgUi(m).reverse() : turnToAgUi(m)));
    res.json({ items, next_cursor: page.next_cursor } satisfies AgUiMessagePage);
  });

  return r;
}

/** The query string as a plain object (a repeated key stays an array, which validation refuses). */
function queryObject(req: Request): Record<string, unknown> {
  return { ...(req.query as Record<string, unknown>) };
}

/**
 * Message ids are unique server-wide: an id another thread holds would be
 * skipped as "already stored" and the message lost, so it is refused instead.
 */
async function refuseForeignIds(store: Store, threadId: string, ids: string[]): Promise<void> {
  const taken = [...(await store.messages.threadsOf(ids))].find(([, owner]) => owner !== threadId);
  if (taken) throw new AppError('conflict', `message id "${taken[0]}" is already used in another thread; message ids must be unique`);
}
