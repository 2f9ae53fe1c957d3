import { redactSecrets } from '../redact.js';
import type { MessageParam } from '@anthropic-ai/sdk/resources/messages/messages';
// The error class alone: the SDK's client (and undici under it) loads with the first run (runtime/model-source.ts).
import { APIError } from '@anthropic-ai/sdk/core/error';
import { zeroUsage, type PendingInputs, type ToolCall, type Usage } from '../../contracts/common.js';
import type { RunEvent } from '../../contracts/events.js';
import { policyOf, type Agent } from '../agents.js';
import { AppError } from '../errors.js';
import { newId } from '../ids.js';
import type { NewMessage } from '../store/messages.js';
import type { CompactionRecord, ModelContext, NewCompaction } from '../store/context.js';
import type { StoredMessage } from '../store/messages.js';
import { ContextWindow, tooLong } from './context.js';
import { canonical } from './history.js';
import type { ModelClient } from './model.js';
import { modelEvents } from './model-stream.js';
import { allowedTools, requestSetup, type ClientTool, type EarlyCall } from './model-request.js';
import { NOOP_RUN_SCOPE, type RunScope } from './observer.js';
import type { ToolRegistry } from './tools/registry.js';

export type { ClientTool } from './model-request.js';

export interface LoopContext {
  runId: string;
  threadId: string;
  agent: Agent;
  client: ModelClient;
  tools: ToolRegistry;
  toolTimeoutMs: number;
  /** History including the new user turn. */
  messages: MessageParam[];
  clientTools: ClientTool[];
  /** Extra system text for this run. */
  context?: string;
  signal: AbortSignal;
  /** `urgent`: a call's first token (PublishedEvent.urgent). */
  emit(event: RunEvent, urgent?: boolean): void;
  /** Stores a completed turn before the loop goes on, so a crash loses nothing already said. */
  save(message: NewMessage): Promise<void>;
  /** Number of the first step (a resumed run goes on counting toward `maxSteps`). */
  firstStep?: number;
  /** Metrics and traces of this run stretch (none: not observed). */
  observe?: RunScope;
  /** The first step's model call, already sent with `messages` (the run's start was stored meanwhile). */
  early?: EarlyCall;
  /** The stored thread behind `messages`, for keeping it within the context window (none: never compacted). */
  thread?: {
    history: StoredMessage[];
    context: { tokens: number; through: number } | null;
    load(): Promise<ModelContext>;
    compact(c: NewCompaction, through: number): Promise<CompactionRecord>;
  };
}

export interface LoopResult {
  output: string;
  stop_reason: string | null;
  usage: Usage;
  tool_calls: ToolCall[];
  /** The model called client tools or `ask` tools: the run waits for their results or decisions. */
  waiting?: boolean;
  /** The last assistant turn, not stored yet: the run's end stores it in the same commit as its status. */
  lastTurn?: NewMessage;
  pending?: PendingInputs;
  /** The context's size at the last model call (its input + output tokens), as reported. */
  contextTokens?: number;
}

function addUsage(total: Usage, u: Usage): void {
  total.input_tokens += u.input_tokens;
  total.output_tokens += u.output_tokens;
  total.cache_read_input_tokens += u.cache_read_input_tokens;
  total.cache_creation_input_tokens += u.cache_creation_input_tokens;
}

/** Usage of one call: message_start's numbers, overridden by any that message_delta reports. */
function mergeUsage(into: Usage, u: Record<string, unknown> | null | undefined): void {
  if (!u) return;
  for (const k of ['input_tokens', 'output_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens'] as const) {
    const v = u[k];
    if (typeof v === 'number') into[k] = v;
  }
}

type Block =
  | { kind: 'text'; id: string; text: string }
  | { kind: 'thinking'; id: string; thinking: string; signature: string }
  | { kind: 'redacted'; data: string }
  | { kind: 'tool'; id: string; name: string; json: string; input: unknown; valid: boolean };

/** Sums usage for a run, including the usage of calls that failed part-way. */
export class UsageMeter {
  readonly total = zeroUsage();
  /** Told each model call's usage when the call ends (failed ones too), e.g. to store it. */
  constructor(readonly onCall?: (usage: Usage, step: number) => void) {}
}

/**
 * The agent loop: stream a model turn, run the tools it asked for (concurrently),
 * feed results back, until the model stops, max tokens, or max steps.
 */
export async function runAgentLoop(ctx: LoopContext, meter: UsageMeter): Promise<LoopResult> {
  const { agent, signal } = ctx;
  const clientNames = new Set(ctx.clientTools.map((t) => t.name));
  // An early call was made with the setup of this very run.
  const setup = ctx.early?.setup ?? requestSetup(agent, ctx.tools, ctx.clientTools, ctx.context);
  const { allowed, system } = setup;
  const toolCalls: ToolCall[] = [];
  let output = '';
  let stopReason: string | null = null;
  let lastTurn: NewMessage | undefined;
  let step = ctx.firstStep ?? 1;
  const window = ctx.thread && new ContextWindow(
    {
      agent,
      client: ctx.client,
      runId: ctx.runId,
      threadId: ctx.threadId,
      signal,
      load: ctx.thread.load,
      store: ctx.thread.compact,
      emit: ctx.emit,
      usage: async (u) => {
        addUsage(meter.total, u);
        meter.onCall?.(u, step);
      },
      count: (messages) => countTokens(ctx.client, setup.countParams(messages), signal),
    },
    setup.fixedTokens,
    { messages: ctx.messages, history: ctx.thread.history, context: ctx.thread.context },
  );

  for (; step <= agent.maxSteps; step++) {
    // Past the threshold the older turns are summarised first (between steps, as its own event).
    if (window) ctx.messages = await window.fit(ctx.messages);
    // The assistant turn of this step is stored under this id; protocols use it as their message id.
    const messageId = newId('msg');
    ctx.emit({ type: 'step.started', step, message_id: messageId });
    const usage = zeroUsage();
    const blocks: Block[] = [];
    // Sent before the loop began, for exactly these messages (compaction left them as they were).
    const early = ctx.early?.messages === ctx.messages ? ctx.early : undefined;
    if (!early) ctx.early?.discard();
    ctx.early = undefined;
    // Stored on step.finished so a run's timeline can be rebuilt from its events alone.
    const callStarted = early?.startedAt ?? performance.now();
    const call = (ctx.observe ?? NOOP_RUN_SCOPE).modelCall({ model: agent.model, step, messages: ctx.messages, system, startedAt: callStarted });
    let responseId: string | undefined;
    let firstTokenMs: number | null = null;
    try {
      let response: Response;
      let sent = early?.take();
      for (;;) {
        try {
          // The SDK sends the request (retries, status errors); its body is read by modelEvents.
          response = await (sent ?? ctx.client.messages.create(setup.params(ctx.messages), { signal, ...(setup.headers ? { headers: setup.headers } : {}) }).asResponse());
          break;
        } catch (err) {
          sent = undefined;
          // Refused as too long though the estimate said it fits: compact harder and ask again.
          const refused = window && !signal.aborted ? tooLong(err) : undefined;
          if (!refused) throw err;
          ctx.messages = await window!.shrink(refused, ctx.messages);
        }
      }
      for await (const ev of modelEvents(response)) {
        switch (ev.type) {
          case 'message_start':
            responseId = ev.message.id;
            mergeUsage(usage, ev.message.usage as unknown as Record<string, unknown>);
            break;
          case 'content_block_start': {
            const cb = ev.content_block;
            const id = `${messageId}_${ev.index}`;
            if (cb.type === 'text') {
              blocks[ev.index] = { kind: 'text', id, text: '' };
              ctx.emit({ type: 'text.start', id });
              if (cb.text) {
                (blocks[ev.index] as { text: string }).text = cb.text;
                ctx.emit({ type: 'text.delta', id, delta: cb.text });
              }
            } else if (cb.type === 'thinking') {
              blocks[ev.index] = { kind: 'thinking', id, thinking: '', signature: '' };
              ctx.emit({ type: 'reasoning.start', id });
            } else if (cb.type === 'redacted_thinking') {
              blocks[ev.index] = { kind: 'redacted', data: cb.data };
            } else if (cb.type === 'tool_use') {
              blocks[ev.index] = { kind: 'tool', id: cb.id, name: cb.name, json: '', input: {}, valid: true };
              ctx.emit({ type: 'tool.call.start', id: cb.id, name: cb.name });
            }
            break;
          }
          case 'content_block_delta': {
            const first = firstTokenMs === null;
            if (first) {
              call.chunk();
              firstTokenMs = Math.round(performance.now() - callStarted);
            }
            const b = blocks[ev.index];
            if (!b) break;
            const d = ev.delta;
            if (d.type === 'text_delta' && b.kind === 'text') {
              b.text += d.text;
              ctx.emit({ type: 'text.delta', id: b.id, delta: d.text }, first);
            } else if (d.type === 'thinking_delta' && b.kind === 'thinking') {
              b.thinking += d.thinking;
              ctx.emit({ type: 'reasoning.delta', id: b.id, delta: d.thinking }, first);
            } else if (d.type === 'signature_delta' && b.kind === 'thinking') {
              b.signature += d.signature;
            } else if (d.type === 'input_json_delta' && b.kind === 'tool') {
              b.json += d.partial_json;
              if (d.partial_json) ctx.emit({ type: 'tool.call.delta', id: b.id, delta: d.partial_json }, first);
            }
            break;
          }
          case 'content_block_stop': {
            const b = blocks[ev.index];
            if (!b) break;
            if (b.kind === 'text') ctx.emit({ type: 'text.end', id: b.id });
            else if (b.kind === 'thinking') ctx.emit({ type: 'reasoning.end', id: b.id, ...(b.signature ? { signature: b.signature } : {}) });
            else if (b.kind === 'tool') {
              try {
                b.input = b.json.trim() === '' ? {} : JSON.parse(b.json);
              } catch {
                b.valid = false;
                b.input = {};
              }
              ctx.emit({ type: 'tool.call.end', id: b.id, name: b.name, input: b.input });
            }
            break;
          }
          case 'message_delta':
            stopReason = ev.delta.stop_reason ?? stopReason;
            mergeUsage(usage, ev.usage as unknown as Record<string, unknown>);
            break;
        }
      }
    } catch (err) {
      call.end({ outcome: signal.aborted ? 'cancelled' : 'error', usage, responseId, errorStatus: (err as { status?: number }).status, errorType: (err as Error)?.name });
      // Interrupted by a newer run (multitask `interrupt`): what it produced stays in the thread.
      if (signal.aborted && signal.reason === 'interrupt') await savePartialTurn(ctx, messageId, blocks);
      if (signal.aborted) throw err;
      // The stream broke mid-answer: keep the text the client already saw as the assistant turn.
      await savePartialTurn(ctx, messageId, blocks);
      if (err instanceof AppError) throw err;
      if (tooLong(err)) throw new AppError('context_overflow', `the thread is too long for the model's context window and compaction is off for agent "${agent.id}"`, { cause: err });
      throw modelError(err, [ctx.client.apiKey, ctx.client.authToken]);
    } finally {
      // Tokens spent on a call that failed part-way still count.
      addUsage(meter.total, usage);
      meter.onCall?.(usage, step);
    }

    const content = blocks.filter(Boolean).flatMap((b): unknown[] => {
      switch (b.kind) {
        case 'text':
          return b.text ? [{ type: 'text', text: b.text }] : [];
        case 'thinking':
          return [{ type: 'thinking', thinking: b.thinking, signature: b.signature }];
        case 'redacted':
          return [{ type: 'redacted_thinking', data: b.data }];
        case 'tool':
          return [{ type: 'tool_use', id: b.id, name: b.name, input: b.input }];
      }
    });
    const calls = blocks.filter((b): b is Extract<Block, { kind: 'tool' }> => b?.kind === 'tool');
    const last = stopReason !== 'tool_use' || calls.length === 0;
    const assistant: NewMessage = { id: messageId, role: 'assistant', content };
    if (content.length) {
      // A turn the loop goes on from is stored now; the last one with the run's end (one commit).
      if (last) lastTurn = assistant;
      else await ctx.save(assistant);
      // As the next run will read it back (sorted keys, no id): the cached prefix stays byte-identical.
      ctx.messages.push({ role: 'assistant', content: canonical(content) } as MessageParam);
    }
    window?.observe(ctx.messages.length, usage);
    output = blocks
      .filter((b): b is Extract<Block, { kind: 'text' }> => b?.kind === 'text')
      .map((b) => b.text)
      .join('');
    call.end({ outcome: 'ok', usage, responseId, stopReason, output: content });
    ctx.emit({ type: 'step.finished', step, stop_reason: stopReason, usage, duration_ms: Math.round(performance.now() - callStarted), first_token_ms: firstTokenMs });
    if (last) break;

    const clientCalls = calls.filter((c) => clientNames.has(c.name));
    // `ask` tools wait for a human decision; everything else the server may run now.
    const gated = calls.filter((c) => !clientNames.has(c.name) && c.valid && allowed.has(c.name) && policyOf(agent, c.name) === 'ask');
    const serverCalls = calls.filter((c) => !clientNames.has(c.name) && !gated.includes(c));
    const approvals = gated.map((c) => ({ approval_id: newId('appr'), tool_call_id: c.id, name: c.name, input: c.input }));
    if (approvals.length) ctx.observe?.approvalsRequested(approvals.length);
    for (const a of approvals) ctx.emit({ type: 'tool.approval.requested', id: a.tool_call_id, approval_id: a.approval_id, name: a.name, input: a.input });
    const results = await Promise.all(serverCalls.map((c) => runServerTool(ctx, c, allowed)));
    signal.throwIfAborted();
    toolCalls.push(...results);
    if (results.length) await saveToolTurn(ctx, results);
    // Client tools run elsewhere and `ask` tools need a decision: stop here; the run waits.
    if (clientCalls.length || approvals.length) {
      const pending: PendingInputs = { approvals, client_tool_calls: clientCalls.map((c) => ({ tool_call_id: c.id, name: c.name, input: c.input })) };
      return { output, stop_reason: stopReason, usage: meter.total, tool_calls: toolCalls, waiting: true, pending, contextTokens: window?.size };
    }
    if (step === agent.maxSteps) stopReason = 'max_steps';
  }
  return { output, stop_reason: stopReason, usage: meter.total, tool_calls: toolCalls, lastTurn, contextTokens: window?.size };
}

/** Clients whose endpoint has no token-count route (or refused it once): not asked again. */
const noCountTokens = new WeakSet<ModelClient>();

/** Exact input tokens from `POST /v1/messages/count_tokens`, where the endpoint offers it. */
async function countTokens(client: ModelClient, params: Parameters<ModelClient['messages']['countTokens']>[0], signal: AbortSignal): Promise<number | undefined> {
  if (noCountTokens.has(client)) return undefined;
  try {
    return (await client.messages.countTokens(params, { signal, maxRetries: 0 })).input_tokens;
  } catch (err) {
    signal.throwIfAborted();
    // Not there (404), not allowed, or not this shape: estimate from then on.
    if (err instanceof APIError && err.status && err.status < 500) noCountTokens.add(client);
    return undefined;
  }
}

async function runServerTool(ctx: LoopContext, c: { id: string; name: string; input: unknown; valid?: boolean }, allowed: ReadonlySet<string>): Promise<ToolCall> {
  const observed = (ctx.observe ?? NOOP_RUN_SCOPE).toolCall({ name: allowed.has(c.name) ? c.name : 'unknown', id: c.id, input: c.input });
  const started = performance.now();
  const r =
    c.valid === false
      ? { id: c.id, name: c.name, input: c.input, output: 'tool input was not valid JSON', is_error: true }
      : await ctx.tools.run(c, allowed, { signal: ctx.signal, runId: ctx.runId, threadId: ctx.threadId, emit: ctx.emit, agent: ctx.agent }, ctx.toolTimeoutMs);
  observed.end(r.is_error ? 'error' : 'ok', r.output);
  ctx.emit({ type: 'tool.result', id: r.id, name: r.name, output: r.output, is_error: r.is_error, duration_ms: Math.round(performance.now() - started) });
  return r;
}

/**
 * Text blocks only: a tool call without its full input (and so without a result) or a thinking
 * block without its signature would make the thread invalid for the next model call. A failure
 * to store it must not hide the model's error.
 */
async function savePartialTurn(ctx: LoopContext, messageId: string, blocks: Block[]): Promise<void> {
  const content = blocks.filter((b): b is Extract<Block, { kind: 'text' }> => b?.kind === 'text' && b.text !== '').map((b) => ({ type: 'text', text: b.text }));
  if (content.length) await ctx.save({ id: messageId, role: 'assistant', content }).catch(() => {});
}

async function saveToolTurn(ctx: LoopContext, results: ToolCall[]): Promise<void> {
  const toolTurn: NewMessage = {
    role: 'user',
    content: results.map((r) => ({ type: 'tool_result', tool_use_id: r.id, content: r.output, ...(r.is_error ? { is_error: true } : {}) })),
  };
  await ctx.save(toolTurn);
  ctx.messages.push({ role: 'user', content: canonical(toolTurn.content) } as MessageParam);
}

/**
 * A waiting run continues: approved calls run now, denied ones tell the model why, client
 * tool results are taken as given. Their results are stored as one tool turn before the
 * model is called again. Every input must be in (the runtime checks).
 */
export async function settlePending(ctx: LoopContext, pending: PendingInputs): Promise<ToolCall[]> {
  const allowed = allowedTools(ctx.agent, ctx.clientTools);
  const results = await Promise.all([
    ...pending.approvals.map(async (a): Promise<ToolCall> => {
      const call = { id: a.tool_call_id, name: a.name, input: a.input };
      ctx.observe?.approvalDecided(a.decision?.approved === true);
      if (a.decision?.approved) return runServerTool(ctx, call, allowed);
      const reason = a.decision?.reason?.trim();
      const r = { ...call, output: `The user denied this tool call${reason ? `: ${reason}` : '.'}`, is_error: true };
      ctx.emit({ type: 'tool.result', id: r.id, name: r.name, output: r.output, is_error: true, denied: true });
      return r;
    }),
    ...pending.client_tool_calls.map(async (c): Promise<ToolCall> => {
      const r = { id: c.tool_call_id, name: c.name, input: c.input, output: c.result?.output ?? 'no result was sent for this tool call', is_error: c.result?.is_error ?? !c.result };
      ctx.emit({ type: 'tool.result', id: r.id, name: r.name, output: r.output, is_error: r.is_error });
      return r;
    }),
  ]);
  ctx.signal.throwIfAborted();
  if (results.length) await saveToolTurn(ctx, results);
  return results;
}

/** Any failure of the model call or its stream is the upstream's: 502, with the provider's message (never credentials). */
/** Upstream text is redacted here too: an error frame mid-stream never passes the redacting fetch's text(). */
function modelError(err: unknown, secrets: Array<string | null | undefined>): AppError {
  if (err instanceof APIError && err.status) {
    const detail = (err.error as { error?: { message?: string } } | undefined)?.error?.message ?? err.message;
    return new AppError('upstream_error', `model API error (HTTP ${err.status}): ${redactSecrets(detail, secrets)}`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new AppError('upstream_error', `model API error: ${redactSecrets(message, secrets)}`, { cause: err });
}
