import type { AgUiMessage } from '../../../contracts/ag-ui.js';
import { blockText } from '../content.js';
import { toolResultMessageId } from './mapper.js';

/** Stored turns (Anthropic's shape) → AG-UI messages. */

type Block = { type: string; [k: string]: unknown };
export type StoredTurn = { id: string; role: 'user' | 'assistant'; content: unknown[] };
type ContentPart = Exclude<Extract<AgUiMessage, { role: 'user' }>['content'], string>[number];



/** Anthropic user blocks → AG-UI content parts. */
function toParts(blocks: Block[]): ContentPart[] {
  return blocks.flatMap((b): ContentPart[] => {
    const src = b.source as { type?: string; media_type?: string; data?: string; url?: string } | undefined;
    if (b.type === 'text') return [{ type: 'text', text: String(b.text) }];
    if ((b.type === 'image' || b.type === 'document') && src) {
      if (src.type === 'base64') return [{ type: b.type, source: { type: 'data', value: String(src.data), mimeType: String(src.media_type) } }];
      if (src.type === 'url') return [{ type: b.type, source: { type: 'url', value: String(src.url) } }];
      if (src.type === 'text') return [{ type: 'document', source: { type: 'data', value: Buffer.from(String(src.data)).toString('base64'), mimeType: 'text/plain' } }];
    }
    return [];
  });
}

/**
 * One stored turn → its AG-UI messages, in the order a live stream builds them:
 * reasoning messages (id = block id, as streamed), the assistant message (id =
 * turn id; text blocks joined by a blank line; tool calls), one tool message per
 * tool result, then the user's own message.
 */
export function turnToAgUi(turn: StoredTurn): AgUiMessage[] {
  const blocks = turn.content as Block[];
  const out: AgUiMessage[] = [];
  if (turn.role === 'assistant') {
    const texts: string[] = [];
    const toolCalls: NonNullable<Extract<AgUiMessage, { role: 'assistant' }>['toolCalls']> = [];
    let at = -1;
    blocks.forEach((b, i) => {
      if (b.type === 'thinking' && typeof b.thinking === 'string') out.push({ id: `${turn.id}_${i}`, role: 'reasoning', content: b.thinking });
      else if (b.type === 'text' || b.type === 'tool_use') {
        if (at < 0) at = out.length;
        if (b.type === 'text' && typeof b.text === 'string' && b.text) texts.push(b.text);
        if (b.type === 'tool_use') toolCalls.push({ id: String(b.id), type: 'function', function: { name: String(b.name), arguments: JSON.stringify(b.input ?? {}) } });
      }
    });
    if (at >= 0) {
      out.splice(at, 0, {
        id: turn.id,
        role: 'assistant',
        ...(texts.length ? { content: texts.join('\n\n') } : {}),
        ...(toolCalls.length ? { toolCalls } : {}),
      });
    }
    return out;
  }
  for (const b of blocks) {
    if (b.type !== 'tool_result') continue;
    const content = blockText(b.content);
    out.push({ id: toolResultMessageId(String(b.tool_use_id)), role: 'tool', toolCallId: String(b.tool_use_id), content, ...(b.is_error ? { error: content || 'tool failed' } : {}) });
  }
  const own = blocks.filter((b) => b.type !== 'tool_result');
  if (own.length) {
    const onlyText = own.every((b) => b.type === 'text');
    out.push({ id: turn.id, role: 'user', content: onlyText && own.length === 1 ? String(own[0].text) : toParts(own) });
  }
  return out;
}

/** Stored turns → the AG-UI messages a front end restores a conversation from. */
export function toAgUiMessages(turns: StoredTurn[]): AgUiMessage[] {
  return turns.flatMap(turnToAgUi);
}
