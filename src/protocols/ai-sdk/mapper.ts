import type { FinishReason, UIMessageChunk } from 'ai';
import type { RunStatus, Usage } from '../../../contracts/common.js';
import { TERMINAL_EVENTS, type RunEvent } from '../../../contracts/events.js';

/**
 * The AI SDK v6 UI message stream mapping: canonical run events →
 * `UIMessageChunk`s of the `ai` package, one assistant UI message per run.
 *
 *   run.started → (start, at the first step: its message id names the UI message)
 *   step.started/finished → start-step/finish-step
 *   text.*, reasoning.* → text-*, reasoning-*
 *   tool.call.start/delta/end → tool-input-start/delta/available
 *   tool.result → tool-output-available | tool-output-error
 *   tool.approval.requested → tool-approval-request
 *   state.snapshot → data-state, state.delta → data-state-delta (transient)
 *   context.compacted → data-context-compacted
 *   run.finished → finish {finishReason, messageMetadata} | abort (cancelled)
 *   run.error → message-metadata, error {errorText}
 *
 * Only chunk types of the v6 schema are produced. The mapper is deterministic:
 * the same events give the same chunks, so a replay rebuilds the same message.
 */

/** Message metadata the stream carries (`start`, `finish`, and before an `error`). */
export interface AiSdkMessageMetadata {
  runId: string;
  threadId: string;
  agentId: string;
  status?: RunStatus;
  stopReason?: string | null;
  usage?: Usage;
  error?: { code: string; message: string };
}

/** Data parts this server sends (`data-<name>`). */
export type AiSdkDataTypes = {
  state: unknown;
  'state-delta': { patch: Array<Record<string, unknown>> };
  'context-compacted': { turns: number; throughMessageId: string; tokensBefore: number; tokensAfter: number };
};

export type AiSdkChunk = UIMessageChunk<AiSdkMessageMetadata, AiSdkDataTypes>;

export interface AiSdkMapperOptions {
  /**
   * Id of the assistant message this run continues (the client's last assistant
   * message, after client tool outputs). Without it the UI message is named by
   * the run's first step, i.e. the id its first assistant turn is stored under.
   */
  messageId?: string;
  /** Chunks sent right after `start` (on resume: the earlier part of a continued message). */
  prefix?: AiSdkChunk[];
  /** Tool calls the client's message already holds (a run continued after approvals): outputs go straight to them. */
  knownToolCalls?: string[];
}

export type AiSdkMapper = (event: RunEvent) => AiSdkChunk[];

export function createAiSdkMapper(opts: AiSdkMapperOptions = {}): AiSdkMapper {
  let ids: Pick<AiSdkMessageMetadata, 'runId' | 'threadId' | 'agentId'> | undefined;
  let started = false;
  let named = false;
  let stepOpen = false;
  let ended = false;
  const toolInputs = new Set<string>(opts.knownToolCalls);
  /** Data that comes before the message is named (the thread's state before the first step). */
  const held: AiSdkChunk[] = [];

  const start = (out: AiSdkChunk[], messageId?: string): void => {
    if (started) return;
    started = true;
    named = messageId !== undefined;
    // Without a message id the client invents one; metadata or data parts would then
    // make it show an empty message, so a nameless start carries nothing.
    out.push(named ? { type: 'start', messageId, ...(ids ? { messageMetadata: ids } : {}) } : { type: 'start' });
    if (opts.prefix) out.push(...opts.prefix);
    if (named) out.push(...held);
  };
  const data = (out: AiSdkChunk[], chunk: AiSdkChunk): void => void (started ? out.push(chunk) : held.push(chunk));
  // A tool output or approval needs its tool input first (the client looks the call up).
  const ensureInput = (out: AiSdkChunk[], toolCallId: string, toolName: string): void => {
    if (toolInputs.has(toolCallId)) return;
    toolInputs.add(toolCallId);
    out.push({ type: 'tool-input-start', toolCallId, toolName }, { type: 'tool-input-available', toolCallId, toolName, input: {} });
  };

  return (e) => {
    if (ended) return [];
    const out: AiSdkChunk[] = [];
    switch (e.type) {
      case 'run.started':
        ids = { runId: e.run_id, threadId: e.thread_id, agentId: e.agent_id };
        if (opts.messageId !== undefined) start(out, opts.messageId);
        break;
      case 'step.started':
        start(out, e.message_id);
        if (stepOpen) out.push({ type: 'finish-step' });
        out.push({ type: 'start-step' });
        stepOpen = true;
        break;
      case 'text.start':
        out.push({ type: 'text-start', id: e.id });
        break;
      case 'text.delta':
        out.push({ type: 'text-delta', id: e.id, delta: e.delta });
        break;
      case 'text.end':
        out.push({ type: 'text-end', id: e.id });
        break;
      case 'reasoning.start':
        out.push({ type: 'reasoning-start', id: e.id });
        break;
      case 'reasoning.delta':
        out.push({ type: 'reasoning-delta', id: e.id, delta: e.delta });
        break;
      case 'reasoning.end':
        // The signature travels as the Anthropic provider of the AI SDK sends it.
        out.push(e.signature ? { type: 'reasoning-end', id: e.id, providerMetadata: { anthropic: { signature: e.signature } } } : { type: 'reasoning-end', id: e.id });
        break;
      case 'tool.call.start':
        toolInputs.add(e.id);
        out.push({ type: 'tool-input-start', toolCallId: e.id, toolName: e.name });
        break;
      case 'tool.call.delta':
        if (toolInputs.has(e.id)) out.push({ type: 'tool-input-delta', toolCallId: e.id, inputTextDelta: e.delta });
        break;
      case 'tool.call.end':
        if (!toolInputs.has(e.id)) {
          toolInputs.add(e.id);
          out.push({ type: 'tool-input-start', toolCallId: e.id, toolName: e.name });
        }
        out.push({ type: 'tool-input-available', toolCallId: e.id, toolName: e.name, input: e.input });
        break;
      case 'tool.result':
        ensureInput(out, e.id, e.name);
        out.push(
          e.denied
            ? { type: 'tool-output-denied', toolCallId: e.id }
            : e.is_error
              ? { type: 'tool-output-error', toolCallId: e.id, errorText: e.output }
              : { type: 'tool-output-available', toolCallId: e.id, output: toolOutput(e.output) },
        );
        break;
      case 'tool.approval.requested':
        ensureInput(out, e.id, e.name);
        out.push({ type: 'tool-approval-request', approvalId: e.approval_id, toolCallId: e.id });
        break;
      case 'state.snapshot':
        data(out, { type: 'data-state', id: 'state', data: e.state });
        break;
      case 'state.delta':
        data(out, { type: 'data-state-delta', data: { patch: e.patch }, transient: true });
        break;
      case 'context.compacted':
        // Kept in the message's parts, so a UI can mark where the model's view of the chat starts.
        data(out, { type: 'data-context-compacted', id: `compacted-${e.through_message_id}`, data: { turns: e.turns, throughMessageId: e.through_message_id, tokensBefore: e.tokens_before, tokensAfter: e.tokens_after } });
        break;
      case 'step.finished':
        if (stepOpen) out.push({ type: 'finish-step' });
        stepOpen = false;
        break;
      case 'run.finished': {
        ended = true;
        start(out);
        if (e.status === 'cancelled') {
          out.push({ type: 'abort', reason: 'cancelled' });
          break;
        }
        if (stepOpen) out.push({ type: 'finish-step' });
        const finishReason = aiSdkFinishReason(e.status, e.stop_reason);
        out.push(named && ids ? { type: 'finish', finishReason, messageMetadata: { ...ids, status: e.status, stopReason: e.stop_reason, usage: e.usage } } : { type: 'finish', finishReason });
        break;
      }
      case 'run.error':
        ended = true;
        start(out);
        if (named && ids) out.push({ type: 'message-metadata', messageMetadata: { ...ids, status: e.status, usage: e.usage, error: { code: e.code, message: e.message } } });
        out.push({ type: 'error', errorText: e.message });
        break;
    }
    return out;
  };
}

/** Whether an event ends the run (and the UI message stream). */
export const isTerminal = (e: RunEvent): boolean => TERMINAL_EVENTS.has(e.type);

/** Anthropic stop reason (and run status) → the AI SDK's finish reason. */
export function aiSdkFinishReason(status: RunStatus, stopReason: string | null): FinishReason {
  if (status === 'waiting') return 'tool-calls';
  switch (stopReason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool-calls';
    case 'refusal':
      return 'content-filter';
    default:
      // max_steps (the agent stopped calling the model), pause_turn, unknown
      return 'other';
  }
}

/** Tool outputs are strings; JSON objects and arrays are sent parsed so UIs can render them. */
export function toolOutput(output: string): unknown {
  if (!/^\s*[[{]/.test(output)) return output;
  try {
    return JSON.parse(output);
  } catch {
    return output;
  }
}

/** Frames of the UI message stream: `data: <chunk>`, then `data: [DONE]`. */
export const aiSdkFrame = (chunk: AiSdkChunk): string => `data: ${JSON.stringify(chunk)}\n\n`;
export const AI_SDK_DONE = 'data: [DONE]\n\n';
/** An SSE comment: the client's parser skips it. */
export const AI_SDK_PING = ': ping\n\n';
