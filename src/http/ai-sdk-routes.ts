import { Router, type Request, type Response } from 'express';
import { UI_MESSAGE_STREAM_HEADERS } from 'ai';
import { AiSdkChatParams, AiSdkRunRequest } from '../../contracts/ai-sdk.js';
import { AppError } from '../errors.js';
import { AI_SDK_DONE, AI_SDK_PING, aiSdkFrame, createAiSdkMapper, isTerminal, type AiSdkMapper } from '../protocols/ai-sdk/mapper.js';
import { approvalAnswers, clientToolsOf, planAiSdkRun, resumeTarget } from '../protocols/ai-sdk/input.js';
import { partsToChunks, toUIMessages, withApprovalRequests } from '../protocols/ai-sdk/history.js';
import { zeroUsage } from '../../contracts/common.js';
import type { LiveRun } from '../runtime/live-run.js';
import type { Runtime } from '../runtime/runtime.js';
import { runEvents, type StreamedEvent } from '../services/run-events.js';
import type { Store } from '../store/store.js';
import { readJsonObject } from './json-body.js';
import { SseStream } from './sse.js';
import { validate } from './validate.js';

export interface AiSdkRouteOptions {
  ssePingMs: number;
}

/**
 * AI SDK v6 UI message stream (SPEC §6):
 * - POST /v1/ai-sdk/agents/:agentId/runs — what `DefaultChatTransport` posts; streams the answer.
 * - GET  /v1/ai-sdk/agents/:agentId/chats/:chatId/stream — resume: 204 when the chat has no active run.
 * - GET  /v1/ai-sdk/agents/:agentId/chats/:chatId/messages — the chat as UIMessages, to hydrate `useChat`.
 */
export function aiSdkRoutes(runtime: Runtime, store: Store, opts: AiSdkRouteOptions): Router {
  const r = Router();

  const agentOf = (req: Request): string => {
    const agentId = String(req.params.agentId);
    if (!runtime.agents.has(agentId)) throw new AppError('not_found', `unknown agent "${agentId}"`);
    return agentId;
  };

  const openStream = (res: Response) => new SseStream(res, { pingMs: opts.ssePingMs, ping: AI_SDK_PING, headers: { ...UI_MESSAGE_STREAM_HEADERS } });

  r.post('/v1/ai-sdk/agents/:agentId/runs', async (req, res) => {
    const agentId = agentOf(req);
    const body = validate(AiSdkRunRequest, await readJsonObject(req));
    // Approval responses continue the run that asked for them (same run, same UI message).
    const waiting = await store.runs.latestWaiting(body.id);
    const answers = waiting?.pending && waiting.agent_id === agentId ? approvalAnswers(body, waiting.pending) : undefined;
    if (waiting?.pending && answers) {
      const last = body.messages.filter((m) => m.role === 'assistant').at(-1);
      const tools = clientToolsOf(body);
      const { run } = await runtime.resume(waiting.id, { ...answers, ...(tools.length ? { clientTools: tools } : {}) }, { origin: 'ai-sdk', complete: true });
      const knownToolCalls = [...waiting.pending.approvals.map((a) => a.tool_call_id), ...waiting.pending.client_tool_calls.map((c) => c.tool_call_id)];
      pipeLive(openStream(res), run!, createAiSdkMapper({ messageId: last?.id, knownToolCalls }));
      return;
    }
    const plan = planAiSdkRun(body, await store.messages.list(body.id));
    // Message ids are unique across threads: a new message must not reuse another chat's id.
    const owners = await store.messages.threadsOf(plan.messages.flatMap((m) => (m.id ? [m.id] : [])));
    const taken = [...owners].filter(([, thread]) => thread !== body.id).map(([id]) => id);
    if (taken.length) throw new AppError('conflict', `message id(s) already used by another chat: ${taken.join(', ')}`);
    if (plan.truncate) {
      if (await store.runs.latestActive(body.id)) {
        throw new AppError('conflict', 'the chat has an active run: let it finish (or resume it) before regenerating or editing');
      }
      await store.messages.deleteAfter(body.id, plan.truncate.messageId, plan.truncate.inclusive);
    }
    const run = await runtime.start({
      agentId,
      threadId: body.id,
      runId: body.runId,
      messages: plan.messages,
      clientTools: plan.clientTools,
      context: plan.context,
      origin: 'ai-sdk',
    });
    // The run goes on when the client leaves; a reload resumes it.
    pipeLive(openStream(res), run, createAiSdkMapper({ messageId: plan.continues }));
  });

  r.get('/v1/ai-sdk/agents/:agentId/chats/:chatId/stream', async (req, res) => {
    const agentId = agentOf(req);
    const { chatId } = validate(AiSdkChatParams, req.params, 'path');
    const active = await store.runs.latestActive(chatId);
    if (!active || active.agent_id !== agentId) {
      res.status(204).end();
      return;
    }
    const target = resumeTarget(active, await store.messages.list(chatId));
    const map = createAiSdkMapper({ messageId: target.messageId, prefix: target.earlier ? partsToChunks(target.earlier) : undefined });
    const sse = openStream(res);
    // From memory when the run is ours, else from the event log (another process owns it).
    const leave = new AbortController();
    sse.onClose(() => leave.abort());
    try {
      // A run that waited for approvals and went on is one UI message: the seam between its stretches is dropped.
      let held: StreamedEvent | undefined;
      for await (const e of runEvents(runtime, store, active.id, 0, leave.signal)) {
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
  });

  r.get('/v1/ai-sdk/agents/:agentId/chats/:chatId/messages', async (req, res) => {
    agentOf(req);
    const { chatId } = validate(AiSdkChatParams, req.params, 'path');
    const messages = toUIMessages(await store.messages.list(chatId));
    // A reloaded page must be able to answer approvals the chat still waits for.
    const waiting = await store.runs.latestWaiting(chatId);
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

/** A run of this process: its buffered events, then live ones, until it ends or the client leaves. */
function pipeLive(sse: SseStream, run: LiveRun, map: AiSdkMapper): void {
  const unsubscribe = run.subscribe((e) => void write(sse, map, e.event));
  sse.onClose(unsubscribe);
}
