import type { UIMessage } from 'ai';
import type { AiSdkRunRequest } from '../../contracts/ai-sdk.js';
import { AppError } from '../errors.js';
import type { PendingInputs } from '../../contracts/common.js';
import type { ClientTool } from '../runtime/agent-loop.js';
import type { RunInputs } from '../runtime/runtime.js';
import type { NewMessage } from '../store/messages.js';
import { pendingToolCalls } from '../runtime/history.js';
import { assistantTurns, normalizeMessage, toolResultBlock, toolResultsTurn, toUIMessages, userTurn, type StoredTurn } from './ai-sdk-messages.js';
import { answersFor } from './decisions.js';

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
