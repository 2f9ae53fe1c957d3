import type { MessageParam } from '@anthropic-ai/sdk/resources/messages/messages';

type Block = { type: string; id?: string; tool_use_id?: string; [k: string]: unknown };
type Turn = { role: 'user' | 'assistant'; content: Block[] };

/**
 * Stored turns → the `messages` the model gets. Consecutive turns of one role
 * are merged (a tool result and a new prompt may be stored separately), and a
 * tool call left without a result (the run was cancelled, crashed, or the
 * client never answered) gets a synthetic error result, which the API requires.
 */
export function toModelMessages(stored: Array<{ role: 'user' | 'assistant'; content: unknown[] }>): MessageParam[] {
  const turns: Turn[] = [];
  for (const m of stored) {
    if (m.content.length === 0) continue;
    const prev = turns[turns.length - 1];
    if (prev?.role === m.role) prev.content = [...prev.content, ...(m.content as Block[])];
    else turns.push({ role: m.role, content: m.content as Block[] });
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
