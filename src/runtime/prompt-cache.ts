/** Prompt-caching breakpoints: tools, the system prompt, and the newest two turns (the API takes at most 4). */
import type { MessageParam, TextBlockParam } from '@anthropic-ai/sdk/resources/messages/messages';
import type { Agent } from '../agents.js';

export type CacheControl = { type: 'ephemeral'; ttl?: '1h' };

/** The 1h lifetime is a beta: requests that use it carry this header. */
export const EXTENDED_TTL_BETA = 'extended-cache-ttl-2025-04-11';

/** The breakpoint every cached block gets for this agent; null when caching is off. */
export function cacheControlOf(agent: Pick<Agent, 'promptCache' | 'cacheTtl'>): CacheControl | null {
  if (agent.promptCache === 'off') return null;
  return agent.cacheTtl === '1h' ? { type: 'ephemeral', ttl: '1h' } : { type: 'ephemeral' };
}

/** Tools with a breakpoint on the last one (the tools are the start of every request's prefix). */
export function cachedTools<T extends object>(tools: T[], cc: CacheControl | null): T[] {
  if (!cc || tools.length === 0) return tools;
  return [...tools.slice(0, -1), { ...tools[tools.length - 1], cache_control: cc } as T];
}

/**
 * The agent's system prompt in its own block with a breakpoint, then this run's extra context
 * (which may change from run to run) after it, so the agent's part stays cached.
 */
export function cachedSystem(system: string | undefined, context: string | undefined, cc: CacheControl | null): string | TextBlockParam[] | undefined {
  if (!cc) return [system, context].filter(Boolean).join('\n\n') || undefined;
  const blocks: TextBlockParam[] = [];
  if (system) blocks.push({ type: 'text', text: system, cache_control: cc });
  if (context) blocks.push({ type: 'text', text: context, ...(system ? {} : { cache_control: cc }) });
  return blocks.length ? blocks : undefined;
}

/**
 * A breakpoint on the last block of each of the newest two messages: the last one writes the
 * prefix the next call (or run) reads; the one before it finds the previous call's write even
 * when more than the API's 20-block lookback was added since (many tool results). Only those
 * two messages are copied; the others are sent as they are (byte-identical from run to run).
 */
export function cachedMessages(messages: MessageParam[], cc: CacheControl | null): MessageParam[] {
  if (!cc || messages.length === 0) return messages;
  const out = messages.slice();
  for (let i = Math.max(0, out.length - 2); i < out.length; i++) out[i] = withBreakpoint(out[i], cc);
  return out;
}

function withBreakpoint(m: MessageParam, cc: CacheControl): MessageParam {
  const content = (typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content) as Array<{ type: string; [k: string]: unknown }>;
  // Thinking blocks cannot carry a breakpoint, nor can empty text.
  for (let j = content.length - 1; j >= 0; j--) {
    const b = content[j] as { type: string; text?: string };
    if (b.type === 'thinking' || b.type === 'redacted_thinking' || (b.type === 'text' && !b.text)) continue;
    const copy = content.slice();
    copy[j] = { ...content[j], cache_control: cc };
    return { ...m, content: copy } as unknown as MessageParam;
  }
  return m;
}

/** Everything a request carries besides messages, and the beta header a 1h lifetime needs. */
export function cachedRequestParts<T extends object>(agent: Agent, tools: T[], context: string | undefined) {
  const cc = cacheControlOf(agent);
  return {
    cc,
    tools: cachedTools(tools, cc),
    system: cachedSystem(agent.system, context, cc),
    headers: cc?.ttl === '1h' ? { 'anthropic-beta': EXTENDED_TTL_BETA } : undefined,
  };
}
