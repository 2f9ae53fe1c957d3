import { EventType, PROTOCOL_VERSION, type Event as AgUiEvent, type TokenUsage } from '@ag-ui/core';
import type { Usage } from '../../../contracts/common.js';
import type { RunEvent } from '../../../contracts/events.js';

export type { AgUiEvent };

export interface AgUiMapOptions {
  /** Echoed on RUN_STARTED / RUN_FINISHED: the request's ids. */
  threadId: string;
  runId: string;
  parentRunId?: string;
  /** Named in the usage entries. */
  model?: string;
}

/** Message id of the AG-UI tool message that carries a tool call's result (stream and history agree). */
export const toolResultMessageId = (toolCallId: string) => `${toolCallId}_result`;

/** Step names are per run; the client pairs STEP_STARTED/FINISHED by name. */
const stepName = (step: number) => `step-${step}`;

/**
 * Canonical run events → AG-UI events (`@ag-ui/core` 1.x), as a pure function
 * of the event sequence: one mapper per stream, fed every event in order.
 *
 * - One AG-UI assistant message per model step, with the id of the stored
 *   assistant turn (`step.started.message_id`): its text blocks stream into it
 *   (a later text block of the same step reopens it, after a blank line) and its
 *   tool calls name it as parent. A client that sends the conversation back is
 *   therefore matched to the stored turn by id and nothing is duplicated.
 * - Thinking → REASONING_START/MESSAGE_START/CONTENT/MESSAGE_END/END, id = the
 *   block id (never the assistant message's, which the client would merge).
 * - Tool results run on the server → TOOL_CALL_RESULT; calls left without one
 *   (frontend tools) are listed in RUN_FINISHED's `pendingToolCallIds`.
 * - Before the terminal event every open message, tool call, reasoning span and
 *   step is closed, so the stream is balanced even when a run fails mid-block;
 *   nothing is emitted after it.
 */
export class AgUiMapper {
  private step: { name: string; messageId: string } | null = null;
  /** Canonical text block id → AG-UI message id, while open. */
  private readonly openText = new Map<string, string>();
  /** AG-UI message ids that already hold text (a reopened one gets a separator). */
  private readonly withText = new Set<string>();
  private readonly openReasoning = new Set<string>();
  /** Open tool calls: whether any ARGS was sent. */
  private readonly openTools = new Map<string, boolean>();
  private readonly calls: string[] = [];
  private readonly answered = new Set<string>();
  private ended = false;

  constructor(private readonly opts: AgUiMapOptions) {}

  /** True once RUN_FINISHED or RUN_ERROR was produced. */
  get finished(): boolean {
    return this.ended;
  }

  map(e: RunEvent): AgUiEvent[] {
    if (this.ended) return [];
    const { threadId, runId } = this.opts;
    switch (e.type) {
      case 'run.started':
        return [
          {
            type: EventType.RUN_STARTED,
            threadId,
            runId,
            protocolVersion: PROTOCOL_VERSION,
            ...(this.opts.parentRunId ? { parentRunId: this.opts.parentRunId } : {}),
          },
        ];
      case 'step.started': {
        const out = this.closeStep();
        this.step = { name: stepName(e.step), messageId: e.message_id };
        out.push({ type: EventType.STEP_STARTED, stepName: this.step.name });
        return out;
      }
      case 'text.start': {
        const messageId = this.step?.messageId ?? e.id;
        const out: AgUiEvent[] = [{ type: EventType.TEXT_MESSAGE_START, messageId, role: 'assistant' }];
        if (this.withText.has(messageId)) out.push({ type: EventType.TEXT_MESSAGE_CONTENT, messageId, delta: '\n\n' });
        this.openText.set(e.id, messageId);
        return out;
      }
      case 'text.delta': {
        const messageId = this.openText.get(e.id);
        if (!messageId || e.delta === '') return [];
        this.withText.add(messageId);
        return [{ type: EventType.TEXT_MESSAGE_CONTENT, messageId, delta: e.delta }];
      }
      case 'text.end': {
        const messageId = this.openText.get(e.id);
        if (!messageId) return [];
        this.openText.delete(e.id);
        return [{ type: EventType.TEXT_MESSAGE_END, messageId }];
      }
      case 'reasoning.start':
        this.openReasoning.add(e.id);
        return [
          { type: EventType.REASONING_START, messageId: e.id },
          { type: EventType.REASONING_MESSAGE_START, messageId: e.id, role: 'reasoning' },
        ];
      case 'reasoning.delta':
        if (!this.openReasoning.has(e.id) || e.delta === '') return [];
        return [{ type: EventType.REASONING_MESSAGE_CONTENT, messageId: e.id, delta: e.delta }];
      case 'reasoning.end':
        // The signature stays on the server: it is for the model API, which only the server talks to.
        return this.closeReasoning(e.id);
      case 'tool.call.start':
        this.openTools.set(e.id, false);
        this.calls.push(e.id);
        return [
          {
            type: EventType.TOOL_CALL_START,
            toolCallId: e.id,
            toolCallName: e.name,
            ...(this.step ? { parentMessageId: this.step.messageId } : {}),
          },
        ];
      case 'tool.call.delta':
        if (!this.openTools.has(e.id) || e.delta === '') return [];
        this.openTools.set(e.id, true);
        return [{ type: EventType.TOOL_CALL_ARGS, toolCallId: e.id, delta: e.delta }];
      case 'tool.call.end': {
        if (!this.openTools.has(e.id)) return [];
        // A call whose arguments never streamed still tells the client what they are.
        const out: AgUiEvent[] = this.openTools.get(e.id) ? [] : [{ type: EventType.TOOL_CALL_ARGS, toolCallId: e.id, delta: JSON.stringify(e.input ?? {}) }];
        this.openTools.delete(e.id);
        out.push({ type: EventType.TOOL_CALL_END, toolCallId: e.id });
        return out;
      }
      case 'tool.result':
        this.answered.add(e.id);
        return [{ type: EventType.TOOL_CALL_RESULT, messageId: toolResultMessageId(e.id), toolCallId: e.id, content: e.output, role: 'tool' }];
      case 'tool.approval.requested':
        // AG-UI has no approval event: a custom one names the approval; the call stays pending until a
        // `role:"tool"` message answers it with the decision (see agUiApprovalAnswers).
        return [{ type: EventType.CUSTOM, name: 'tool_approval_requested', value: { toolCallId: e.id, approvalId: e.approval_id, toolName: e.name, input: e.input } }];
      case 'context.compacted':
        // Older turns were summarised for the model (the thread keeps them): a custom event, as for approvals.
        return [{ type: EventType.CUSTOM, name: 'context_compacted', value: { turns: e.turns, throughMessageId: e.through_message_id, tokensBefore: e.tokens_before, tokensAfter: e.tokens_after } }];
      case 'state.snapshot':
        return e.state === undefined ? [] : [{ type: EventType.STATE_SNAPSHOT, snapshot: e.state }];
      case 'state.delta':
        return [{ type: EventType.STATE_DELTA, delta: e.patch as never }];
      case 'step.finished':
        return this.closeStep();
      case 'run.finished': {
        const out = this.closeStep();
        const pending = this.calls.filter((id) => !this.answered.has(id));
        const outcome =
          e.status === 'cancelled'
            ? ({ type: 'cancelled' } as const)
            : e.status === 'waiting' && pending.length
              ? ({ type: 'success', pendingToolCallIds: pending } as const)
              : ({ type: 'success' } as const);
        out.push({ type: EventType.RUN_FINISHED, threadId, runId, outcome, usage: this.usage(e.usage) });
        this.ended = true;
        return out;
      }
      case 'run.error': {
        const out = this.closeStep();
        out.push({ type: EventType.RUN_ERROR, message: e.message, code: e.code, usage: this.usage(e.usage) });
        this.ended = true;
        return out;
      }
    }
  }

  private closeReasoning(id: string): AgUiEvent[] {
    if (!this.openReasoning.delete(id)) return [];
    return [
      { type: EventType.REASONING_MESSAGE_END, messageId: id },
      { type: EventType.REASONING_END, messageId: id },
    ];
  }

  /** Ends whatever a failed or cancelled step left open, then the step. */
  private closeStep(): AgUiEvent[] {
    const out: AgUiEvent[] = [];
    for (const messageId of this.openText.values()) out.push({ type: EventType.TEXT_MESSAGE_END, messageId });
    this.openText.clear();
    for (const id of [...this.openReasoning]) out.push(...this.closeReasoning(id));
    for (const toolCallId of this.openTools.keys()) out.push({ type: EventType.TOOL_CALL_END, toolCallId });
    this.openTools.clear();
    if (this.step) out.push({ type: EventType.STEP_FINISHED, stepName: this.step.name });
    this.step = null;
    return out;
  }

  /** AG-UI accounting: inputTokens counts cache reads and writes, which are parts of it. */
  private usage(u: Usage): TokenUsage[] {
    const input = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens;
    return [
      {
        provider: 'anthropic',
        ...(this.opts.model ? { model: this.opts.model } : {}),
        inputTokens: input,
        outputTokens: u.output_tokens,
        totalTokens: input + u.output_tokens,
        cachedInputTokens: u.cache_read_input_tokens,
        cacheWriteInputTokens: u.cache_creation_input_tokens,
      },
    ];
  }
}

/** All AG-UI events of a finished run's canonical events (replay, tests). */
export function toAgUiEvents(events: RunEvent[], opts: AgUiMapOptions): AgUiEvent[] {
  const mapper = new AgUiMapper(opts);
  return events.flatMap((e) => mapper.map(e));
}
