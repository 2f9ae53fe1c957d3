import type { MessageParam } from '@anthropic-ai/sdk/resources/messages/messages';

type Block = { type: string; id?: string; tool_use_id?: string; [k: string]: unknown };
type Turn = { role: 'user' | 'assistant'; content: Block[] };

/** How a compaction's summary is put before the turns that follow it. */
export function summaryTurn(summary: string): Turn {
  return { role: 'user', content: [{ type: 'text', text: `The earlier part of this conversation was compacted. Its summary:\n\n<summary>\n${summary}\n</summary>` }] };
}

/**
 * Stored turns → the `messages` the model gets, after the summary of a compaction when there
 * is one. Consecutive turns of one role are merged (a tool result and a new prompt may be
 * stored separately), and a tool call left without a result (the run was cancelled, crashed,
 * or the client never answered) gets a synthetic error result, which the API requires.
 *
 * The same stored turns always give the same bytes (prompt caching reuses a prefix only if it
 * is byte-identical): keys are sorted, because PostgreSQL's jsonb returns them reordered.
 */
export function toModelMessages(stored: Array<{ role: 'user' | 'assistant'; content: unknown[] }>, summary?: string): MessageParam[] {
  const turns: Turn[] = summary !== undefined ? [summaryTurn(summary)] : [];
  for (const m of stored) {
    if (m.content.length === 0) continue;
    const content = (m.content as Block[]).map(canonical);
    const prev = turns[turns.length - 1];
    if (prev?.role === m.role) prev.content = [...prev.content, ...content];
    else turns.push({ role: m.role, content });
  }
  for (let i = 0; i < turns.length; i++) {
    const t = turns[i];
    if (t.role !== 'assistant') continue;
    const calls = t.content.filter((b) => b.type === 'tool_use').map((b) => b.id as string);
    if (calls.length === 0) continue;
    const next = turns[i + 1];
    const results = next?.content.filter((b) => b.type === 'tool_result') ?? [];
    const answered = new Set(results.map((b) => b.tool_use_id));
    const missing = calls
      .filter((id) => !answered.has(id))
      .map((id): Block => ({ type: 'tool_result', tool_use_id: id, content: 'no result: the run ended before this tool returned', is_error: true }));
    const rest = next?.content.filter((b) => b.type !== 'tool_result') ?? [];
    // Results first, in call order, then whatever else the user said.
    const ordered = calls.map((id) => results.find((b) => b.tool_use_id === id) ?? missing.find((b) => b.tool_use_id === id)!);
    if (next) next.content = [...ordered, ...rest];
    else turns.push({ role: 'user', content: ordered });
  }
  return turns as MessageParam[];
}

/** A copy with every object's keys in sorted order: one serialisation for equal content, whatever stored it. */
export function canonical<T>(value: T): T {
  if (Array.isArray(value)) return value.map(canonical) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) out[k] = canonical((value as Record<string, unknown>)[k]);
  return out as T;
}

/** Tool calls in the stored turns that have no tool_result yet (client tools awaiting their output), in call order. */
export function pendingToolCalls(stored: Array<{ role: 'user' | 'assistant'; content: unknown[] }>): string[] {
  const calls: string[] = [];
  const answered = new Set<string>();
  for (const t of stored) {
    for (const b of t.content as Block[]) {
      if (t.role === 'assistant' && b.type === 'tool_use') calls.push(String(b.id));
      if (t.role === 'user' && b.type === 'tool_result') answered.add(String(b.tool_use_id));
    }
  }
  return calls.filter((id) => !answered.has(id));
}
