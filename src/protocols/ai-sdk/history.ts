import type { UIMessage } from 'ai';
import type { PendingInputs } from '../../../contracts/common.js';
import { isToolResultOnly, type Block } from '../content.js';
import { toolOutput, type AiSdkChunk } from './mapper.js';

/**
 * Stored turns (Anthropic's shape) → AI SDK UIMessages.
 *
 * One assistant UIMessage spans every stored turn between two user text turns:
 * its assistant turns (one per model call) and the tool_result turns between
 * them. Its id is the id of its first assistant turn, so a client that resends
 * its history names exactly the turns the server holds.
 */

export type StoredTurn = { id: string; role: 'user' | 'assistant'; content: unknown[]; run_id?: string | null };
type Part = UIMessage['parts'][number];
type ToolPart = Extract<Part, { toolCallId: string }>;
export const isToolPart = (p: { type: string }): boolean => p.type === 'dynamic-tool' || p.type.startsWith('tool-');
export const toolNameOf = (p: { type: string; toolName?: unknown }): string => (p.type === 'dynamic-tool' ? String(p.toolName) : p.type.slice('tool-'.length));


/** Stored turns → UIMessages (what `useChat` is hydrated with). */
export function toUIMessages(stored: StoredTurn[]): UIMessage[] {
  const out: UIMessage[] = [];
  let assistant: UIMessage | undefined;
  const tools = new Map<string, ToolPart>();
  for (const t of stored) {
    const blocks = t.content as Block[];
    if (t.role === 'assistant') {
      if (!assistant) {
        assistant = { id: t.id, role: 'assistant', parts: [] };
        out.push(assistant);
      }
      assistant.parts.push({ type: 'step-start' });
      for (const b of blocks) {
        if (b.type === 'text') assistant.parts.push({ type: 'text', text: String(b.text), state: 'done' });
        else if (b.type === 'thinking') {
          assistant.parts.push({ type: 'reasoning', text: String(b.thinking), state: 'done', ...(b.signature ? { providerMetadata: { anthropic: { signature: String(b.signature) } } } : {}) });
        } else if (b.type === 'tool_use') {
          const part = { type: `tool-${String(b.name)}`, toolCallId: String(b.id), state: 'input-available', input: b.input } as ToolPart;
          tools.set(String(b.id), part);
          assistant.parts.push(part);
        }
      }
      continue;
    }
    // A user turn: tool results complete the current assistant message; anything else starts a user message.
    for (const b of blocks) {
      if (b.type !== 'tool_result') continue;
      const part = tools.get(String(b.tool_use_id)) as Record<string, unknown> | undefined;
      if (!part) continue;
      const text = resultText(b.content);
      if (b.is_error) Object.assign(part, { state: 'output-error', errorText: text });
      else Object.assign(part, { state: 'output-available', output: toolOutput(text) });
    }
    if (isToolResultOnly(blocks)) continue;
    assistant = undefined;
    const parts: Part[] = [];
    for (const b of blocks) {
      if (b.type === 'text') parts.push({ type: 'text', text: String(b.text) });
      else if ((b.type === 'image' || b.type === 'document') && b.source && typeof b.source === 'object') {
        const s = b.source as { type: string; media_type?: string; data?: string; url?: string };
        const mediaType = s.media_type ?? (b.type === 'image' ? 'image/*' : 'application/pdf');
        if (s.type === 'base64') parts.push({ type: 'file', mediaType, url: `data:${mediaType};base64,${s.data}` });
        else if (s.type === 'url' && s.url) parts.push({ type: 'file', mediaType, url: s.url });
      }
    }
    out.push({ id: t.id, role: 'user', parts });
  }
  return out;
}

function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return (content as Block[]).map((b) => (b.type === 'text' ? String(b.text) : '')).join('');
  return '';
}

/**
 * An assistant UIMessage's parts as the chunks that build it (no start/finish):
 * on resume, the part of a continued message that earlier runs produced.
 */
export function partsToChunks(message: UIMessage): AiSdkChunk[] {
  const out: AiSdkChunk[] = [];
  let stepOpen = false;
  message.parts.forEach((p, i) => {
    const id = `${message.id}_p${i}`;
    if (p.type === 'step-start') {
      if (stepOpen) out.push({ type: 'finish-step' });
      out.push({ type: 'start-step' });
      stepOpen = true;
    } else if (p.type === 'text') {
      out.push({ type: 'text-start', id }, ...(p.text ? [{ type: 'text-delta' as const, id, delta: p.text }] : []), { type: 'text-end', id });
    } else if (p.type === 'reasoning') {
      out.push({ type: 'reasoning-start', id }, ...(p.text ? [{ type: 'reasoning-delta' as const, id, delta: p.text }] : []), {
        type: 'reasoning-end',
        id,
        ...(p.providerMetadata ? { providerMetadata: p.providerMetadata } : {}),
      });
    } else if (isToolPart(p)) {
      const t = p as ToolPart & { input?: unknown; output?: unknown; errorText?: string };
      const toolName = toolNameOf(t as { type: string; toolName?: unknown });
      out.push({ type: 'tool-input-start', toolCallId: t.toolCallId, toolName }, { type: 'tool-input-available', toolCallId: t.toolCallId, toolName, input: t.input });
      if (t.state === 'output-available') out.push({ type: 'tool-output-available', toolCallId: t.toolCallId, output: t.output });
      else if (t.state === 'output-error') out.push({ type: 'tool-output-error', toolCallId: t.toolCallId, errorText: t.errorText ?? '' });
    }
  });
  if (stepOpen) out.push({ type: 'finish-step' });
  return out;
}

/** Tool parts of calls that wait for a decision get state `approval-requested`, as the live stream left them. */
export function withApprovalRequests(messages: UIMessage[], pending: PendingInputs): void {
  const open = new Map(pending.approvals.filter((a) => !a.decision).map((a) => [a.tool_call_id, a.approval_id]));
  for (const m of messages) {
    for (const p of m.parts as Array<Record<string, unknown>>) {
      const approvalId = typeof p.toolCallId === 'string' ? open.get(p.toolCallId) : undefined;
      if (approvalId === undefined || p.state !== 'input-available') continue;
      p.state = 'approval-requested';
      p.approval = { id: approvalId };
    }
  }
}
