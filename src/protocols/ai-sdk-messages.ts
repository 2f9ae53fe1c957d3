import type { UIMessage } from 'ai';
import type { PendingInputs } from '../../contracts/common.js';
import type { AiSdkUIMessage } from '../../contracts/ai-sdk.js';
import type { NewMessage } from '../store/messages.js';
import { toolOutput, type AiSdkChunk } from './ai-sdk.js';

/**
 * AI SDK UIMessages ↔ stored turns (Anthropic's shape).
 *
 * One assistant UIMessage spans every stored turn between two user text turns:
 * its assistant turns (one per model call) and the tool_result turns between
 * them. Its id is the id of its first assistant turn, so a client that resends
 * its history names exactly the turns the server holds.
 */

type Block = { type: string; [k: string]: unknown };
export type StoredTurn = { id: string; role: 'user' | 'assistant'; content: unknown[]; run_id?: string | null };
type Part = UIMessage['parts'][number];
type ToolPart = Extract<Part, { toolCallId: string }>;
/** A request message with `content` shorthand resolved. */
export type RequestMessage = { id?: string; role: 'system' | 'user' | 'assistant'; parts: Array<{ type: string; [k: string]: unknown }> };

export function normalizeMessage(m: AiSdkUIMessage): RequestMessage {
  const parts = m.parts ?? (m.content ? [{ type: 'text', text: m.content }] : []);
  return { ...(m.id !== undefined ? { id: m.id } : {}), role: m.role, parts };
}

const isToolResultOnly = (content: unknown[]): boolean => content.length > 0 && (content as Block[]).every((b) => b.type === 'tool_result');

// ---------- UI → stored ----------

const DATA_URL = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s;

/** User parts → Anthropic blocks: text, and files the model reads (images, PDFs). */
function userBlocks(parts: RequestMessage['parts']): Block[] {
  const blocks: Block[] = [];
  for (const p of parts) {
    if (p.type === 'text' && typeof p.text === 'string' && p.text !== '') blocks.push({ type: 'text', text: p.text });
    else if (p.type === 'file' && typeof p.url === 'string' && typeof p.mediaType === 'string') {
      const kind = p.mediaType.startsWith('image/') ? 'image' : p.mediaType === 'application/pdf' ? 'document' : undefined;
      if (!kind) continue;
      const data = DATA_URL.exec(p.url);
      if (data) blocks.push({ type: kind, source: { type: 'base64', media_type: data[1], data: data[2] } });
      else if (/^https?:\/\//.test(p.url)) blocks.push({ type: kind, source: { type: 'url', url: p.url } });
    }
  }
  return blocks;
}

export function userTurn(m: RequestMessage): NewMessage | undefined {
  const content = userBlocks(m.parts);
  return content.length ? { ...(m.id ? { id: m.id } : {}), role: 'user', content } : undefined;
}

const isToolPart = (p: { type: string }): boolean => p.type === 'dynamic-tool' || p.type.startsWith('tool-');
const toolNameOf = (p: { type: string; toolName?: unknown }): string => (p.type === 'dynamic-tool' ? String(p.toolName) : p.type.slice('tool-'.length));

/** A tool part's answer as a tool_result block, when it has one. */
export function toolResultBlock(p: Record<string, unknown>): Block | undefined {
  if (p.state === 'output-available') {
    return { type: 'tool_result', tool_use_id: p.toolCallId, content: typeof p.output === 'string' ? p.output : JSON.stringify(p.output ?? null) };
  }
  if (p.state === 'output-error') return { type: 'tool_result', tool_use_id: p.toolCallId, content: String(p.errorText ?? 'tool failed'), is_error: true };
  return undefined;
}

/**
 * Outputs of pending tool calls found in the request's assistant messages, as
 * one tool_result turn (in call order); undefined when there are none.
 */
export function toolResultsTurn(messages: RequestMessage[], pending: string[]): NewMessage | undefined {
  const byId = new Map<string, Block>();
  for (const m of messages) {
    if (m.role !== 'assistant') continue;
    for (const p of m.parts) {
      if (!isToolPart(p) || !pending.includes(String(p.toolCallId))) continue;
      const block = toolResultBlock(p);
      if (block) byId.set(String(p.toolCallId), block);
    }
  }
  const content = pending.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
  return content.length ? { id: `result_${(content[0] as Block).tool_use_id}`, role: 'user', content } : undefined;
}

/**
 * An assistant UIMessage → its turns (to seed a new thread with history the client
 * holds): one assistant turn per step, each followed by the results of its tool calls.
 */
export function assistantTurns(m: RequestMessage): NewMessage[] {
  const steps: Array<RequestMessage['parts']> = [[]];
  for (const p of m.parts) {
    if (p.type === 'step-start') {
      if (steps[steps.length - 1].length) steps.push([]);
    } else steps[steps.length - 1].push(p);
  }
  const turns: NewMessage[] = [];
  let step = 0;
  for (const parts of steps) {
    const content: Block[] = [];
    const results: Block[] = [];
    for (const p of parts) {
      if (p.type === 'text' && typeof p.text === 'string' && p.text !== '') content.push({ type: 'text', text: p.text });
      else if (p.type === 'reasoning' && typeof p.text === 'string') {
        // Anthropic takes thinking back only with its signature.
        const signature = (p.providerMetadata as { anthropic?: { signature?: unknown } } | undefined)?.anthropic?.signature;
        if (typeof signature === 'string') content.push({ type: 'thinking', thinking: p.text, signature });
      } else if (isToolPart(p) && p.state !== 'input-streaming' && typeof p.toolCallId === 'string') {
        content.push({ type: 'tool_use', id: p.toolCallId, name: toolNameOf(p), input: p.input ?? {} });
        const r = toolResultBlock(p);
        if (r) results.push(r);
      }
    }
    if (!content.length) continue;
    const n = step++;
    turns.push({ ...(m.id ? { id: n === 0 ? m.id : `${m.id}_${n}` } : {}), role: 'assistant', content });
    if (results.length) turns.push({ ...(m.id ? { id: `${m.id}_${n}_results` } : {}), role: 'user', content: results });
  }
  return turns;
}

// ---------- stored → UI ----------

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
