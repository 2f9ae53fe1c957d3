import type { MessageParam } from '@anthropic-ai/sdk/resources/messages/messages';

type Block = { type: string; id?: string; tool_use_id?: string; [k: string]: unknown };

/**
 * Stored turns → the `messages` the model gets. A run that ended between a
 * tool call and its result (cancel, crash, timeout) would leave a tool_use
 * the API rejects; such calls get a synthetic error result here.
 */
export function toModelMessages(stored: Array<{ role: 'user' | 'assistant'; content: unknown[] }>): MessageParam[] {
  const out: MessageParam[] = [];
  for (let i = 0; i < stored.length; i++) {
    const m = stored[i];
    const content = m.content as Block[];
    if (content.length === 0) continue;
    out.push({ role: m.role, content: content as MessageParam['content'] });
    if (m.role !== 'assistant') continue;
    const pending = content.filter((b) => b.type === 'tool_use').map((b) => b.id as string);
    if (pending.length === 0) continue;
    const next = stored[i + 1];
    const answered = new Set(
      next?.role === 'user' ? (next.content as Block[]).filter((b) => b.type === 'tool_result').map((b) => b.tool_use_id) : [],
    );
    const missing = pending.filter((id) => !answered.has(id));
    if (missing.length === 0) continue;
    const synthetic = missing.map((id) => ({ type: 'tool_result' as const, tool_use_id: id, content: 'the run ended before this tool returned', is_error: true }));
    if (next?.role === 'user' && answered.size > 0) {
      // Results must come first in the user turn that follows the tool calls.
      stored[i + 1] = { role: 'user', content: [...synthetic, ...next.content] };
    } else {
      out.push({ role: 'user', content: synthetic });
    }
  }
  return out;
}
