import type { UIMessage } from 'ai';
import type { AiSdkRunRequest, AiSdkUIMessage } from '../../../contracts/ai-sdk.js';
import type { PendingInputs } from '../../../contracts/common.js';
import { AppError } from '../../errors.js';
import type { ClientTool } from '../../runtime/agent-loop.js';
import { pendingToolCalls } from '../../runtime/history.js';
import type { RunInputs } from '../../runtime/runtime.js';
import type { NewMessage } from '../../store/messages.js';
import { bareMediaType, mediaBlock, SUPPORTED_MEDIA, type Block } from '../content.js';
import { answersFor } from '../decisions.js';
import { isToolPart, toolNameOf, toUIMessages, type StoredTurn } from './history.js';

/**
 * What a `useChat` request asks of the runtime. The server is the source of
 * truth for the thread: from the client's messages it takes only what it does
 * not hold yet (new user messages, outputs of pending client tool calls, or the
 * whole history when the thread is new).
 */
export interface AiSdkRunPlan {
  /** New turns to append, in order. */
  messages: NewMessage[];
  /** Drop the thread's turns after this message (regenerate), or from it on (an edited user message). */
  truncate?: { messageId: string; inclusive: boolean };
  /** The assistant UI message this run continues (after client tool outputs). */
  continues?: string;
  clientTools: ClientTool[];
  /** System messages of the request, given to the model for this run. */
  context?: string;
}

export function planAiSdkRun(body: AiSdkRunRequest, stored: StoredTurn[]): AiSdkRunPlan {
  const all = body.messages.map(normalizeMessage);
  const context = all
    .filter((m) => m.role === 'system')
    .flatMap((m) => m.parts.flatMap((p) => (p.type === 'text' && typeof p.text === 'string' ? [p.text] : [])))
    .join('\n\n');
  const convo = all.filter((m) => m.role !== 'system');
  const last = convo[convo.length - 1];
  if (!last) throw new AppError('bad_request', 'messages must contain a user message', { issues: [{ path: ['messages'], message: 'no user or assistant message' }] });

  const known = new Set(stored.map((m) => m.id));
  let truncate: AiSdkRunPlan['truncate'];
  let thread = stored;
  if (body.trigger === 'regenerate-message') {
    if (last.role !== 'user') throw badInput('regenerate-message needs the messages to end with the user message to answer again');
    if (last.id && known.has(last.id)) truncate = { messageId: last.id, inclusive: false };
  } else if (last.role === 'user' && last.id && body.messageId === last.id && known.has(last.id)) {
    // `sendMessage({ messageId })`: the user edited this message; everything from it on is replaced.
    truncate = { messageId: last.id, inclusive: true };
  }
  if (truncate) {
    const at = stored.findIndex((m) => m.id === truncate!.messageId);
    thread = stored.slice(0, truncate.inclusive ? at : at + 1);
    if (truncate.inclusive) known.delete(truncate.messageId);
  }

  const seeding = thread.length === 0;
  const messages: NewMessage[] = [];
  for (const m of convo) {
    if (m.id && known.has(m.id)) continue;
    if (m.role === 'user') {
      const turn = userTurn(m);
      if (turn) messages.push(turn);
    } else if (seeding) {
      messages.push(...assistantTurns(m));
    }
  }
  // Outputs of client tool calls the thread is waiting for come first: they answer its last assistant turn.
  const results = seeding ? undefined : toolResultsTurn(convo, pendingToolCalls(thread));
  if (results) messages.unshift(results);

  if (last.role === 'user' && !userTurn(last) && !(last.id && known.has(last.id))) throw badInput('the user message has no text or supported file part');
  if (messages.length === 0 && body.trigger !== 'regenerate-message') {
    throw badInput(
      last.role === 'user'
        ? 'no new user message: the last message is already in the chat (use trigger "regenerate-message" to answer it again)'
        : 'nothing to answer: the last message is an assistant message without new tool outputs',
    );
  }

  const startsNewAnswer = messages.some((m) => m.role === 'user' && m.content.some((b) => (b as { type: string }).type !== 'tool_result'));
  const continues = !startsNewAnswer && !truncate && last.role === 'assistant' && last.id ? last.id : undefined;
  return {
    messages,
    ...(truncate ? { truncate } : {}),
    ...(continues ? { continues } : {}),
    clientTools: clientToolsOf(body),
    ...(context ? { context } : {}),
  };
}

/**
 * Answers to a waiting run found in the request: tool parts in state `approval-responded`
 * for its approvals (what `addToolApprovalResponse` produces), and outputs of its client tool
 * calls. Undefined unless the request decides at least one approval.
 */
export function approvalAnswers(body: AiSdkRunRequest, pending: PendingInputs): RunInputs | undefined {
  const parts = new Map(
    body.messages
      .map(normalizeMessage)
      .filter((m) => m.role === 'assistant')
      .flatMap((m) => m.parts)
      .flatMap((p) => (typeof p.toolCallId === 'string' ? [[p.toolCallId, p] as const] : [])),
  );
  return answersFor(pending, {
    decision: (toolCallId, approvalId) => {
      const approval = parts.get(toolCallId)?.approval as { id?: unknown; approved?: unknown; reason?: unknown } | undefined;
      if (approval?.id !== approvalId || typeof approval.approved !== 'boolean') return undefined;
      return { approved: approval.approved, ...(typeof approval.reason === 'string' && approval.reason ? { reason: approval.reason } : {}) };
    },
    result: (toolCallId) => {
      const p = parts.get(toolCallId);
      return p && toolResultBlock(p);
    },
  });
}

/** Tools the request says the client executes. */
export function clientToolsOf(body: AiSdkRunRequest): ClientTool[] {
  return (body.tools ?? []).map((t) => ({ name: t.name, ...(t.description ? { description: t.description } : {}), input_schema: t.inputSchema ?? { type: 'object', properties: {} } }));
}

const badInput = (message: string) => new AppError('bad_request', message, { issues: [{ path: ['messages'], message }] });

/**
 * On resume: the UI message a run belongs to. A run whose input is only tool
 * outputs continues the assistant message before it; its earlier parts are
 * replayed first, so the client rebuilds the whole message.
 */
export function resumeTarget(run: { id: string; input: Record<string, unknown> }, stored: StoredTurn[]): { messageId?: string; earlier?: UIMessage } {
  const input = (Array.isArray(run.input.messages) ? run.input.messages : []) as NewMessage[];
  const onlyResults = input.length > 0 && input.every((m) => m.role === 'user' && m.content.every((b) => (b as { type: string }).type === 'tool_result'));
  if (!onlyResults) return {};
  const before = stored.filter((m) => m.run_id !== run.id);
  const earlier = toUIMessages([...before, ...input.map((m, i) => ({ id: m.id ?? `input_${i}`, role: m.role, content: m.content }))]).at(-1);
  return earlier?.role === 'assistant' ? { messageId: earlier.id, earlier } : {};
}

// ---------- UI → stored ----------

/** A request message with `content` shorthand resolved. */
export type RequestMessage = { id?: string; role: 'system' | 'user' | 'assistant'; parts: Array<{ type: string; [k: string]: unknown }> };

export function normalizeMessage(m: AiSdkUIMessage): RequestMessage {
  const parts = m.parts ?? (m.content ? [{ type: 'text', text: m.content }] : []);
  return { ...(m.id !== undefined ? { id: m.id } : {}), role: m.role, parts };
}

const DATA_URL = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s;

/** User parts → Anthropic blocks: text, and files the model reads (the shared media set); other files are refused. */
function userBlocks(parts: RequestMessage['parts']): Block[] {
  const blocks: Block[] = [];
  for (const p of parts) {
    if (p.type === 'text' && typeof p.text === 'string' && p.text !== '') blocks.push({ type: 'text', text: p.text });
    else if (p.type === 'file' && typeof p.url === 'string' && typeof p.mediaType === 'string') {
      const data = DATA_URL.exec(p.url);
      const type = bareMediaType(p.mediaType);
      const source = data ? ({ kind: 'base64', data: data[2] } as const) : /^https?:\/\//.test(p.url) ? ({ kind: 'url', url: p.url } as const) : undefined;
      if (!source) throw badInput(`file part url must be a data: URL (base64) or an http(s) URL`);
      const block = mediaBlock(type, source);
      if (!block) throw badInput(`file type ${type} is not supported (${SUPPORTED_MEDIA}; plain text as a data: URL)`);
      blocks.push(block);
    }
  }
  return blocks;
}

export function userTurn(m: RequestMessage): NewMessage | undefined {
  const content = userBlocks(m.parts);
  return content.length ? { ...(m.id ? { id: m.id } : {}), role: 'user', content } : undefined;
}


/** A tool part's answer as a tool_result block, when it has one. */
export function toolResultBlock(p: Record<string, unknown>): Block | undefined {
  if (p.state === 'output-available') {
    return { type: 'tool_result', tool_use_id: p.toolCallId, content: typeof p.output === 'string' ? p.output : JSON.stringify(p.output ?? null) };
  }
  if (p.state === 'output-error') return { type: 'tool_result', tool_use_id: p.toolCallId, content: String(p.errorText ?? 'tool failed'), is_error: true };
  return undefined;
}

/**
 * Outputs of pending tool calls found in the request's assistant messages, as
 * one tool_result turn (in call order); undefined when there are none.
 */
export function toolResultsTurn(messages: RequestMessage[], pending: string[]): NewMessage | undefined {
  const byId = new Map<string, Block>();
  for (const m of messages) {
    if (m.role !== 'assistant') continue;
    for (const p of m.parts) {
      if (!isToolPart(p) || !pending.includes(String(p.toolCallId))) continue;
      const block = toolResultBlock(p);
      if (block) byId.set(String(p.toolCallId), block);
    }
  }
  const content = pending.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
  return content.length ? { id: `result_${(content[0] as Block).tool_use_id}`, role: 'user', content } : undefined;
}

/**
 * An assistant UIMessage → its turns (to seed a new thread with history the client
 * holds): one assistant turn per step, each followed by the results of its tool calls.
 */
export function assistantTurns(m: RequestMessage): NewMessage[] {
  const steps: Array<RequestMessage['parts']> = [[]];
  for (const p of m.parts) {
    if (p.type === 'step-start') {
      if (steps[steps.length - 1].length) steps.push([]);
    } else steps[steps.length - 1].push(p);
  }
  const turns: NewMessage[] = [];
  let step = 0;
  for (const parts of steps) {
    const content: Block[] = [];
    const results: Block[] = [];
    for (const p of parts) {
      if (p.type === 'text' && typeof p.text === 'string' && p.text !== '') content.push({ type: 'text', text: p.text });
      else if (p.type === 'reasoning' && typeof p.text === 'string') {
        // Anthropic takes thinking back only with its signature.
        const signature = (p.providerMetadata as { anthropic?: { signature?: unknown } } | undefined)?.anthropic?.signature;
        if (typeof signature === 'string') content.push({ type: 'thinking', thinking: p.text, signature });
      } else if (isToolPart(p) && p.state !== 'input-streaming' && typeof p.toolCallId === 'string') {
        content.push({ type: 'tool_use', id: p.toolCallId, name: toolNameOf(p), input: p.input ?? {} });
        const r = toolResultBlock(p);
        if (r) results.push(r);
      }
    }
    if (!content.length) continue;
    const n = step++;
    turns.push({ ...(m.id ? { id: n === 0 ? m.id : `${m.id}_${n}` } : {}), role: 'assistant', content });
    if (results.length) turns.push({ ...(m.id ? { id: `${m.id}_${n}_results` } : {}), role: 'user', content: results });
  }
  return turns;
}

