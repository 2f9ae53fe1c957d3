import { Router, type Request } from 'express';
import { AgUiAgentParams, AgUiListMessagesQuery, AgUiRunRequest, AgUiThreadParams, type AgUiMessagePage } from '../../contracts/ag-ui.js';
import { agUiFrame } from '../protocols/ag-ui/frame.js';
import { AgUiMapper } from '../protocols/ag-ui/mapper.js';
import { agUiApprovalAnswers, agUiStartOptions, agUiTimeout, planAgUiRun } from '../protocols/ag-ui/input.js';
import { turnToAgUi } from '../protocols/ag-ui/history.js';
import { STATE_TOOLS } from '../runtime/tools/state.js';
import type { Services } from '../services/index.js';
import { principalOf } from './auth.js';
import { readJsonObject } from './json-body.js';
import { SseStream } from './sse.js';
import { validate } from './validate.js';

/** Keep-alive: an SSE comment, which AG-UI clients skip. */
export const AG_UI_PING = ': ping\n\n';

/**
 * AG-UI:
 * - POST /v1/ag-ui/agents/:agentId/runs — RunAgentInput in, AG-UI event stream out.
 * - GET  /v1/ag-ui/threads/:id/messages — the thread as AG-UI messages, paginated.
 */
export function agUiRoutes(services: Services, opts: { ssePingMs: number }): Router {
  const r = Router();
  const { conversations } = services;

  r.post('/v1/ag-ui/agents/:agentId/runs', async (req, res) => {
    const { agentId } = validate(AgUiAgentParams, req.params, 'path');
    const agent = conversations.agent(agentId);
    const body = validate(AgUiRunRequest, await readJsonObject(req));
    const principal = principalOf(req);

    const { thread, turns, waiting } = await conversations.open(principal, body.threadId, agentId);
    // Tool messages answering a waiting run's approvals continue that run (see agUiApprovalAnswers).
    const answers = waiting ? agUiApprovalAnswers(body, waiting.pending!) : undefined;
    const rest = answers ? { ...body, messages: body.messages.filter((m) => !(m.role === 'tool' && answers.answered.has(m.toolCallId))) } : body;
    const plan = planAgUiRun(rest, turns, thread !== undefined && thread.state !== null, { nothingNewOk: answers !== undefined });
    await conversations.claimMessageIds(body.threadId, plan.messages.map((m) => m.id));
    const timeoutMs = agUiTimeout(body);
    const startOptions = agUiStartOptions(body);

    // Everything above answers with a JSON error; from here on the answer is the stream.
    const common = {
      messages: plan.messages,
      clientTools: plan.clientTools,
      context: plan.context,
      ...('state' in plan ? { state: plan.state } : {}),
      ...(plan.stateTools ? { extraTools: [...STATE_TOOLS] } : {}),
    };
    const run = answers
      ? await conversations.answer(principal, waiting!.id, { decisions: answers.decisions, tool_results: answers.tool_results, ...common }, 'ag-ui')
      : await conversations.start(principal, { agentId, threadId: body.threadId, runId: body.runId, ...common, timeoutMs, origin: 'ag-ui', ...startOptions });
    const mapper = new AgUiMapper({ threadId: body.threadId, runId: body.runId, parentRunId: body.parentRunId, model: agent.model });
    const sse = new SseStream(res, { pingMs: opts.ssePingMs, ping: AG_UI_PING });
    // The run goes on when the client leaves; only the subscription ends.
    const unsubscribe = run.subscribe((e) => {
      for (const event of mapper.map(e.event)) sse.write(agUiFrame(event));
      if (e.urgent) sse.flushNow();
      // Ends once the run is stored, so a client that reads the thread next finds it.
      if (mapper.finished) void run.done.then(() => sse.end());
    });
    sse.onClose(unsubscribe);
  });

  r.get('/v1/ag-ui/threads/:id/messages', async (req, res) => {
    const { id } = validate(AgUiThreadParams, req.params, 'path');
    const q = validate(AgUiListMessagesQuery, queryObject(req), 'query');
    const page = await services.threads.messages(principalOf(req), { id, limit: q.limit, after: q.after, before: q.before, order: q.order, run_id: q.run_id });
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
