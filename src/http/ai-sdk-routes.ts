import { Router, type Request, type RequestHandler, type Response } from 'express';
import { UI_MESSAGE_STREAM_HEADERS } from 'ai';
import { AiSdkChatParams, AiSdkRunRequest } from '../../contracts/ai-sdk.js';
import { AI_SDK_DONE, AI_SDK_PING, aiSdkFrame, createAiSdkMapper, isTerminal, type AiSdkMapper } from '../protocols/ai-sdk/mapper.js';
import { approvalAnswers, clientToolsOf, planAiSdkRun, resumeTarget } from '../protocols/ai-sdk/input.js';
import { partsToChunks, toUIMessages, withApprovalRequests } from '../protocols/ai-sdk/history.js';
import { zeroUsage } from '../../contracts/common.js';
import type { LiveRun } from '../runtime/live-run.js';
import type { Services } from '../services/index.js';
import type { StreamedEvent } from '../services/run-events.js';
import { principalOf } from './auth.js';
import { readJsonObject } from './json-body.js';
import { SseStream } from './sse.js';
import { validate } from './validate.js';

export interface AiSdkRouteOptions {
  ssePingMs: number;
}

/**
 * AI SDK v6 UI message stream:
 * - POST /v1/ai-sdk/agents/:agentId/runs — what `DefaultChatTransport` posts; streams the answer.
 * - GET  /v1/ai-sdk/agents/:agentId/chats/:chatId/stream — resume: 204 when the chat has no active run;
 *   also at `.../runs/:chatId/stream`, where `DefaultChatTransport` reconnects by default (`{api}/{id}/stream`).
 * - GET  /v1/ai-sdk/agents/:agentId/chats/:chatId/messages — the chat as UIMessages, to hydrate `useChat`.
 */
export function aiSdkRoutes(services: Services, opts: AiSdkRouteOptions): Router {
  const r = Router();
  const { conversations } = services;

  const agentOf = (req: Request): string => conversations.agent(String(req.params.agentId)).id;

  const openStream = (res: Response) => new SseStream(res, { pingMs: opts.ssePingMs, ping: AI_SDK_PING, headers: { ...UI_MESSAGE_STREAM_HEADERS } });

  r.post('/v1/ai-sdk/agents/:agentId/runs', async (req, res) => {
    const agentId = agentOf(req);
    const body = validate(AiSdkRunRequest, await readJsonObject(req));
    // Approval responses continue the run that asked for them (same run, same UI message).
    const principal = principalOf(req);
    const { turns, waiting } = await conversations.open(principal, body.id, agentId);
    const answers = waiting ? approvalAnswers(body, waiting.pending!) : undefined;
    if (waiting && answers) {
      const last = body.messages.filter((m) => m.role === 'assistant').at(-1);
      const tools = clientToolsOf(body);
      const run = await conversations.answer(principal, waiting.id, { ...answers, ...(tools.length ? { clientTools: tools } : {}) }, 'ai-sdk');
      const knownToolCalls = [...waiting.pending!.approvals.map((a) => a.tool_call_id), ...waiting.pending!.client_tool_calls.map((c) => c.tool_call_id)];
      pipeLive(openStream(res), run, createAiSdkMapper({ messageId: last?.id, knownToolCalls }));
      return;
    }
    const plan = planAiSdkRun(body, turns);
    await conversations.claimMessageIds(body.id, plan.messages.map((m) => m.id));
    if (plan.truncate || body.trigger === 'regenerate-message') await conversations.truncate(principal, body.id, plan.truncate);
    const run = await conversations.start(principal, {
      agentId,
      threadId: body.id,
      runId: body.runId,
      messages: plan.messages,
      clientTools: plan.clientTools,
      context: plan.context,
      timeoutMs: body.timeout_ms,
      origin: 'ai-sdk',
      strategy: body.multitask_strategy,
      webhook: body.webhook,
    });
    // The run goes on when the client leaves; a reload resumes it.
    pipeLive(openStream(res), run, createAiSdkMapper({ messageId: plan.continues }));
  });

  const resume: RequestHandler = async (req, res) => {
    const agentId = agentOf(req);
    const { chatId } = validate(AiSdkChatParams, req.params, 'path');
    const principal = principalOf(req);
    const active = await conversations.activeRun(principal, chatId);
    if (!active || active.agent_id !== agentId) {
      res.status(204).end();
      return;
    }
    const target = resumeTarget(active, await conversations.turns(principal, chatId));
    const map = createAiSdkMapper({ messageId: target.messageId, prefix: target.earlier ? partsToChunks(target.earlier) : undefined });
    const sse = openStream(res);
    // From memory when the run is ours, else from the event log (another process owns it).
    const leave = new AbortController();
    sse.onClose(() => leave.abort());
    try {
      // A run that waited for approvals and went on is one UI message: the seam between its stretches is dropped.
      let held: StreamedEvent | undefined;
      for await (const e of services.runs.events(principal, active.id, 0, leave.signal)) {
        if (e.event.type === 'run.finished' && e.event.status === 'waiting') {
          held = e;
          continue;
        }
        if (held && e.event.type === 'run.started') {
          held = undefined;
          continue;
        }
        if (held && write(sse, map, held.event)) return;
        if (write(sse, map, e.event)) return;
      }
      if (held && write(sse, map, held.event)) return;
      write(sse, map, { type: 'run.error', status: 'interrupted', code: 'interrupted', message: 'the run ended without a final event', usage: zeroUsage() });
    } catch (err) {
      if (!leave.signal.aborted) throw err;
    }
  };
  r.get('/v1/ai-sdk/agents/:agentId/chats/:chatId/stream', resume);
  r.get('/v1/ai-sdk/agents/:agentId/runs/:chatId/stream', resume);

  r.get('/v1/ai-sdk/agents/:agentId/chats/:chatId/messages', async (req, res) => {
    agentOf(req);
    const { chatId } = validate(AiSdkChatParams, req.params, 'path');
    const principal = principalOf(req);
    const messages = toUIMessages(await conversations.turns(principal, chatId));
    // A reloaded page must be able to answer approvals the chat still waits for.
    const waiting = await conversations.waitingRun(principal, chatId);
    if (waiting?.pending) withApprovalRequests(messages, waiting.pending);
    res.json({ id: chatId, messages });
  });

  return r;
}

function write(sse: SseStream, map: AiSdkMapper, event: Parameters<AiSdkMapper>[0]): boolean {
  for (const chunk of map(event)) sse.write(aiSdkFrame(chunk));
  if (!isTerminal(event)) return false;
  sse.write(AI_SDK_DONE);
  sse.end();
  return true;
}

/**
 * A run of this process: its buffered events, then live ones, until it ends or the client
 * leaves. The stream ends once the run is stored, so a client that reads the chat next finds it.
 */
function pipeLive(sse: SseStream, run: LiveRun, map: AiSdkMapper): void {
  const unsubscribe = run.subscribe((e) => {
    for (const chunk of map(e.event)) sse.write(aiSdkFrame(chunk));
    if (e.urgent) sse.flushNow();
    if (!isTerminal(e.event)) return;
    sse.write(AI_SDK_DONE);
    void run.done.then(() => sse.end());
  });
  sse.onClose(unsubscribe);
}
