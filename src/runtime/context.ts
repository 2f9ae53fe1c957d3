/** Context-window management: estimate a request's size, compact older turns into a summary before it overflows. */
import type { MessageParam } from '@anthropic-ai/sdk/resources/messages/messages';
import { APIError } from '@anthropic-ai/sdk/core/error';
import { zeroUsage, type Usage } from '../../contracts/common.js';
import type { RunEvent } from '../../contracts/events.js';
import { contextWindowOf, DEFAULT_COMPACTION, type Agent } from '../agents.js';
import { AppError } from '../errors.js';
import type { CompactionRecord, ModelContext, NewCompaction } from '../store/context.js';
import type { StoredMessage } from '../store/messages.js';
import { toModelMessages } from './history.js';
import type { ModelClient } from './model.js';

type Block = { type: string; [k: string]: unknown };

/** ≈4 characters a token for text and JSON; images and documents by their size class, not their base64. */
export function estimateTokens(value: unknown): number {
  return Math.ceil(weigh(value) / 4);
}

function weigh(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + weigh(v) + 1, 2);
  if (value === null || typeof value !== 'object') return String(value).length;
  const b = value as Block;
  if (b.type === 'image') return 1600 * 4;
  if (b.type === 'document') {
    const source = b.source as { type?: string; data?: string } | undefined;
    // A PDF page is some 1.5-3k tokens; its base64 is ~100 KB a page at most.
    return source?.type === 'text' ? weigh(source.data ?? '') : Math.max(3000, (source?.data?.length ?? 0) / 16) * 4;
  }
  let n = 2;
  for (const [k, v] of Object.entries(b)) if (k !== 'cache_control') n += k.length + 3 + weigh(v);
  return n;
}

/** The upstream says the request does not fit: `prompt is too long: N tokens > M maximum` (or input + max_tokens over the limit). */
export function tooLong(err: unknown): { tokens?: number; limit?: number } | undefined {
  if (!(err instanceof APIError) || err.status !== 400) return undefined;
  const message = (err.error as { error?: { message?: string } } | undefined)?.error?.message ?? err.message;
  let m = /prompt is too long:\s*(\d+)\s*tokens?\s*>\s*(\d+)/i.exec(message);
  if (m) return { tokens: Number(m[1]), limit: Number(m[2]) };
  m = /input length and `?max_tokens`? exceed context limit:\s*(\d+)\s*\+\s*\d+\s*>\s*(\d+)/i.exec(message);
  if (m) return { tokens: Number(m[1]), limit: Number(m[2]) };
  return /prompt is too long|exceeds? (the )?context (window|limit)/i.test(message) ? {} : undefined;
}

export interface ContextDeps {
  agent: Agent;
  client: ModelClient;
  runId: string;
  threadId: string;
  signal: AbortSignal;
  /** The thread as the model sees it, read again (compaction works on stored turns and their positions). */
  load(): Promise<ModelContext>;
  /** Stores a compaction; `through` is the thread's last position, which its estimate covers. */
  store(c: NewCompaction, through: number): Promise<CompactionRecord>;
  emit(e: RunEvent): void;
  /** Each summarising call's usage (it is billed like any other). */
  usage(u: Usage): Promise<void>;
  /** The exact input tokens of a request with these messages (the token-count endpoint); undefined where it is not offered. */
  count?(messages: MessageParam[]): Promise<number | undefined>;
}

/** Where a run's context stands: tokens known for the first `covered` messages of the request. */
interface Known {
  tokens: number;
  covered: number;
}

const SUMMARY_SYSTEM = [
  'You compact conversations for an AI assistant that will continue them with only your summary and the most recent turns.',
  "Write a concise summary of the conversation you are given, in the conversation's language. Keep what the assistant needs to go on:",
  "the user's goals, instructions and preferences; facts, names, numbers and decisions; which tools were called and what they returned;",
  'what was done, what is open, and the next steps. If a previous summary is given, merge it in. Output only the summary.',
].join(' ');

/** The agent's compaction settings (defaults when it names none); null: off. */
function compactionOf(agent: Agent): { threshold: number; keepRecentTurns: number } | null {
  return agent.compaction === undefined ? DEFAULT_COMPACTION : agent.compaction;
}

/**
 * Whether `fit` would send a new thread's first messages as they are, without a count: far
 * enough under the threshold (and under the window) by the same estimate it starts from.
 */
export function fitsAsIs(agent: Agent, fixedTokens: number, messages: MessageParam[]): boolean {
  const policy = compactionOf(agent);
  if (policy === null) return true;
  const window = contextWindowOf(agent);
  const estimate = fixedTokens + estimateTokens(messages);
  return estimate <= Math.floor(window * policy.threshold) * 0.9 && estimate + agent.maxTokens <= window;
}

/**
 * One per run. Before each model call `fit` estimates the request (the last call's reported
 * input plus what was added since; at start, what the thread's last call reported) and, past
 * the threshold, summarises the older turns with the agent's model into a stored compaction.
 * A request the upstream still refuses as too long goes through `shrink`, which compacts
 * harder until nothing is left to summarise; then the run fails with `context_overflow`, and
 * the oversized turn is left out of what later runs send, so the thread stays usable.
 */
export class ContextWindow {
  private known: Known;
  /** Turns kept after the summary by the last compaction of this run (shrink keeps fewer each time). */
  private kept: number | undefined;
  private window: number;

  constructor(
    private readonly deps: ContextDeps,
    /** Estimated tokens of what every request carries besides messages (system prompt, tools). */
    private readonly fixed: number,
    start: { messages: MessageParam[]; history: StoredMessage[]; context: { tokens: number; through: number } | null },
  ) {
    this.window = contextWindowOf(deps.agent);
    const tokens = start.context ? start.context.tokens + estimateTokens(start.history.filter((m) => m.position > start.context!.through).map((m) => m.content)) : fixed + estimateTokens(start.messages);
    this.known = { tokens, covered: start.messages.length };
  }

  /** Estimated input tokens of a request with these messages. */
  estimate(messages: MessageParam[]): number {
    return this.known.tokens + (messages.length > this.known.covered ? estimateTokens(messages.slice(this.known.covered)) : 0);
  }

  /** A call answered: its reported size (input + output) covers the first `covered` messages, its answer included. */
  observe(covered: number, u: Usage): void {
    const input = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens;
    if (input > 0) this.known = { tokens: input + u.output_tokens, covered };
  }

  /** Tokens of the whole context (input + output) as the last call reported them; before any call, the estimate. */
  get size(): number {
    return this.known.tokens;
  }

  /** The agent's compaction settings; null: off. */
  private get policy(): { threshold: number; keepRecentTurns: number } | null {
    return compactionOf(this.deps.agent);
  }

  /** The messages to send: these, or a compacted thread when they would pass the threshold. */
  async fit(messages: MessageParam[]): Promise<MessageParam[]> {
    const policy = this.policy;
    if (policy === null) return messages;
    const limit = Math.floor(this.window * policy.threshold);
    const over = (n: number) => n > limit || n + this.deps.agent.maxTokens > this.window;
    let estimate = this.estimate(messages);
    // Close to the line either way, an exact count decides (one round trip, only then).
    if (this.deps.count && estimate > limit * 0.9 && estimate < limit * 1.1) {
      const exact = await this.deps.count(messages);
      if (exact !== undefined) this.known = { tokens: (estimate = exact), covered: messages.length };
    }
    if (!over(estimate)) return messages;
    let keep = policy.keepRecentTurns;
    for (;;) {
      const next = await this.compact(keep, estimate);
      if (!next) break;
      messages = next.messages;
      estimate = next.tokens;
      if (!over(estimate) || next.kept === 0) break;
      keep = Math.floor(next.kept / 2);
    }
    if (estimate > this.window) throw await this.overflow(estimate);
    return messages;
  }

  /** The upstream refused the request as too long: compact harder, or fail the run with `context_overflow`. */
  async shrink(err: { tokens?: number; limit?: number }, messages: MessageParam[]): Promise<MessageParam[]> {
    // The upstream knows its window better than a default.
    if (err.limit && err.limit < this.window) this.window = err.limit;
    const estimate = err.tokens ?? this.estimate(messages);
    const policy = this.policy;
    if (policy !== null) {
      const next = await this.compact(Math.floor((this.kept ?? policy.keepRecentTurns) / 2), estimate, true);
      if (next) return next.messages;
    }
    throw await this.overflow(estimate);
  }

  /**
   * Summarises the turns before the last `keep` (fewer when that would split a tool call from
   * its result) into a compaction. Undefined when there is nothing older to summarise.
   * `harder`: the kept part must shrink (the upstream refused it).
   */
  private async compact(keep: number, before: number, harder = false): Promise<{ messages: MessageParam[]; tokens: number; kept: number } | undefined> {
    const thread = await this.deps.load();
    const cut = boundary(thread.turns, keep, harder ? (this.kept ?? thread.turns.length) : thread.turns.length);
    return cut === undefined ? undefined : this.compactBefore(thread, cut, before);
  }

  /** Stores the summary of the turns before `cut` (with the previous summary) and emits `context.compacted`. */
  private async compactBefore({ compaction, turns }: ModelContext, cut: number, before: number): Promise<{ messages: MessageParam[]; tokens: number; kept: number }> {
    const summary = await this.summarise(compaction?.summary, turns.slice(0, cut));
    const kept = turns.slice(cut);
    const messages = toModelMessages(kept, summary);
    const tokens = this.fixed + estimateTokens(messages);
    const last = turns[cut - 1];
    await this.deps.store(
      { thread_id: this.deps.threadId, run_id: this.deps.runId, through_position: last.position, summary, turns: (compaction?.turns ?? 0) + cut, tokens_before: before, tokens_after: tokens },
      turns[turns.length - 1].position,
    );
    this.deps.emit({ type: 'context.compacted', turns: cut, through_message_id: last.id, tokens_before: before, tokens_after: tokens });
    this.known = { tokens, covered: messages.length };
    this.kept = kept.length;
    return { messages, tokens, kept: kept.length };
  }

  /**
   * Nothing is left to summarise and the request is still too large: one turn is. Everything is
   * compacted (that turn cut short in what the summariser reads), so the next run sends the
   * summary and its own turns; the run fails with a clear error.
   */
  private async overflow(tokens: number): Promise<AppError> {
    const message = `the newest turn is too large for the model's context window (about ${tokens} tokens; the window is ${this.window}). It stays stored, but the model gets a summary of it from now on.`;
    if (this.policy !== null) {
      try {
        const thread = await this.deps.load();
        if (thread.turns.length) await this.compactBefore(thread, thread.turns.length, tokens);
      } catch (err) {
        if (this.deps.signal.aborted) throw err;
        // The summary is best effort here: the run fails for its own reason either way.
      }
    }
    return new AppError('context_overflow', message);
  }

  /**
   * The summary of `turns` after `previous`, written by the agent's model. A transcript too long
   * for one request is summarised in pieces, each folded into the summary so far; a piece the
   * upstream still refuses is split again.
   */
  private async summarise(previous: string | undefined, turns: StoredMessage[]): Promise<string> {
    // Conservative (3 characters a token): half the window for the transcript, the rest for the summary and the prompt.
    let pieceChars = Math.max(2000, Math.floor(this.window * 0.5 * 3));
    let summary = previous;
    const lines = transcript(turns, Math.min(8000, Math.floor(pieceChars / 2)));
    let i = 0;
    while (i < lines.length) {
      let chars = 0;
      let j = i;
      while (j < lines.length && (j === i || chars + lines[j].length <= pieceChars)) chars += lines[j++].length + 1;
      try {
        summary = await this.summaryCall(summary, lines.slice(i, j).join('\n'));
        i = j;
      } catch (err) {
        if (!tooLong(err) || pieceChars <= 2000) throw err;
        pieceChars = Math.floor(pieceChars / 2);
      }
    }
    return summary ?? '';
  }

  private async summaryCall(previous: string | undefined, text: string): Promise<string> {
    const { agent, client, signal } = this.deps;
    const prompt = `${previous ? `<previous-summary>\n${previous}\n</previous-summary>\n\n` : ''}<conversation>\n${text}\n</conversation>`;
    const usage = zeroUsage();
    try {
      const res = await client.messages.create(
        { model: agent.model, max_tokens: Math.min(agent.compaction?.summaryMaxTokens ?? 2048, agent.maxTokens), system: SUMMARY_SYSTEM, messages: [{ role: 'user', content: prompt }] },
        { signal },
      );
      for (const k of ['input_tokens', 'output_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens'] as const) usage[k] = res.usage?.[k] ?? 0;
      const out = res.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('').trim();
      if (!out) throw new AppError('upstream_error', 'the model returned an empty summary while compacting the thread');
      return out;
    } finally {
      await this.deps.usage(usage);
    }
  }
}

/**
 * Where to cut `turns` so that at most `keep` turns (and fewer than `below`) stay as they are,
 * at a point where every tool result kept has its call kept too (the API refuses a result
 * without its call). Undefined: no cut leaves something to summarise.
 */
export function boundary(turns: StoredMessage[], keep: number, below: number): number | undefined {
  const calls = new Set<string>();
  const results = new Set<string>();
  let unmatched = 0;
  let best: number | undefined;
  // From the end backwards (results come after their calls): the tail from i is valid when no result in it lacks its call.
  for (let i = turns.length - 1; i >= 1; i--) {
    for (const b of turns[i].content as Block[]) {
      if (b.type === 'tool_use') {
        calls.add(String(b.id));
        if (results.has(String(b.id))) unmatched--;
      } else if (b.type === 'tool_result') {
        results.add(String(b.tool_use_id));
        if (!calls.has(String(b.tool_use_id))) unmatched++;
      }
    }
    const kept = turns.length - i;
    if (kept >= below) break;
    if (unmatched > 0) continue;
    if (kept <= keep) {
      best = i; // and try to keep more
      continue;
    }
    // Nothing valid within `keep`: the shortest valid tail.
    best ??= i;
    break;
  }
  return best;
}

/** The turns as plain text for the summariser; each block cut to `cap` characters (head and tail). */
export function transcript(turns: StoredMessage[], cap: number): string[] {
  const clip = (s: string) => (s.length <= cap ? s : `${s.slice(0, Math.floor(cap * 0.7))} […${s.length - cap} characters left out…] ${s.slice(s.length - Math.floor(cap * 0.3))}`);
  const lines: string[] = [];
  for (const t of turns) {
    for (const b of t.content as Block[]) {
      switch (b.type) {
        case 'text':
          lines.push(`[${t.role}] ${clip(String(b.text))}`);
          break;
        case 'tool_use':
          lines.push(`[assistant called tool ${String(b.name)}] ${clip(JSON.stringify(b.input ?? {}))}`);
          break;
        case 'tool_result': {
          const c = b.content;
          const text = typeof c === 'string' ? c : Array.isArray(c) ? c.map((x: Block) => (x.type === 'text' ? String(x.text) : `[${x.type}]`)).join('\n') : '';
          lines.push(`[tool result${b.is_error ? ', error' : ''}] ${clip(text)}`);
          break;
        }
        case 'image':
        case 'document':
          lines.push(`[${t.role} attached ${b.type === 'image' ? 'an image' : 'a document'}]`);
          break;
        // Thinking stays out: its signature only means something to the turn it belongs to.
      }
    }
  }
  return lines;
}
