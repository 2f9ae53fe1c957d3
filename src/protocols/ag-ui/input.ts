import type { AgUiMessage, AgUiRunRequest } from '../../../contracts/ag-ui.js';
import { MultitaskStrategy, TimeoutMs, WebhookUrl } from '../../../contracts/run.js';
import { AppError } from '../../errors.js';
import type { PendingInputs } from '../../../contracts/common.js';
import type { ClientTool } from '../../runtime/agent-loop.js';
import { pendingToolCalls } from '../../runtime/history.js';
import type { RunInputs } from '../../runtime/runtime.js';
import { MAX_STATE_BYTES } from '../../runtime/tools/state.js';
import type { NewMessage } from '../../store/messages.js';
import { mediaBlock, SUPPORTED_MEDIA } from '../content.js';
import { answersFor, DECISION_FORMAT, readDecision } from '../decisions.js';

/**
 * AG-UI messages ⇄ stored turns (Anthropic's shape).
 *
 * The thread is the server's: from the messages a client sends (its whole
 * history, every time) only what the thread does not hold yet is taken — new
 * user messages, and results of the frontend tool calls the thread is waiting
 * for. Assistant messages are the server's own output and are only taken to
 * seed a thread the server has never seen. Each taken message is stored under
 * its AG-UI id, so it is recognised when it comes again.
 */

type Block = { type: string; [k: string]: unknown };
export type StoredTurn = { id: string; role: 'user' | 'assistant'; content: unknown[] };
type ContentPart = Exclude<Extract<AgUiMessage, { role: 'user' }>['content'], string>[number];

export interface AgUiRunPlan {
  /** New turns to append, in order. */
  messages: NewMessage[];
  clientTools: ClientTool[];
  /** `context` entries and system/developer messages, for the model's system text. */
  context?: string;
  /** The thread's new state; undefined keeps the stored one. */
  state?: unknown;
  /** Offer the shared-state tools on this run. */
  stateTools: boolean;
}

const bad = (message: string, path: Array<string | number>) => new AppError('bad_request', message, { issues: [{ path, message }] });

const withId = (id: string | undefined) => (id === undefined ? {} : { id });
const isEmptyObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;

/** What a RunAgentInput asks of the runtime, given the thread as stored. */
export function planAgUiRun(body: AgUiRunRequest, stored: StoredTurn[], threadHasState: boolean, opts: { nothingNewOk?: boolean } = {}): AgUiRunPlan {
  const known = new Set(stored.map((m) => m.id));
  const seeding = stored.length === 0;
  const pending = new Set(pendingToolCalls(stored));
  const system: string[] = [];
  const messages: NewMessage[] = [];

  body.messages.forEach((m, i) => {
    const path = ['messages', i];
    if (m.id !== undefined && known.has(m.id)) return;
    switch (m.role) {
      case 'system':
      case 'developer':
        if (m.content.trim()) system.push(m.content);
        return;
      case 'user': {
        const content = userBlocks(m.content, [...path, 'content']);
        if (content.length) messages.push({ ...withId(m.id), role: 'user', content });
        break;
      }
      case 'assistant': {
        if (!seeding) return;
        const content: Block[] = [];
        if (m.content?.trim()) content.push({ type: 'text', text: m.content });
        for (const c of m.toolCalls ?? []) {
          content.push({ type: 'tool_use', id: c.id, name: c.function.name, input: parseArguments(c.function.arguments) });
          pending.add(c.id);
        }
        if (content.length) messages.push({ ...withId(m.id), role: 'assistant', content });
        break;
      }
      case 'tool': {
        // Only an answer to a call the thread waits for; anything else is already answered or unknown.
        if (!pending.delete(m.toolCallId)) return;
        messages.push({ ...withId(m.id), role: 'user', content: [toolResultBlock(m, [...path, 'content'])] });
        break;
      }
      // reasoning and activity messages are the client's record of the server's output.
    }
    if (m.id !== undefined) known.add(m.id);
  });

  // Nothing new is fine only when the thread's last turn still awaits an answer (a retry after a failure).
  if (messages.length === 0 && !opts.nothingNewOk && !(stored[stored.length - 1]?.role === 'user' && pending.size === 0)) {
    throw bad('nothing to answer: every message is already in the thread (send a new user message, or the results of the pending tool calls)', ['messages']);
  }

  const context = [contextText(body.context ?? []), ...system].filter(Boolean).join('\n\n');
  let state: unknown;
  if (body.state !== undefined && body.state !== null && !isEmptyObject(body.state)) {
    if (Buffer.byteLength(JSON.stringify(body.state) ?? '') > MAX_STATE_BYTES) throw bad(`state is larger than ${MAX_STATE_BYTES} bytes`, ['state']);
    state = body.state;
  }
  return {
    messages,
    clientTools: clientTools(body.tools ?? []),
    ...(context ? { context } : {}),
    ...(state !== undefined ? { state } : {}),
    stateTools: state !== undefined || threadHasState,
  };
}

/**
 * Decisions for a run waiting on approvals: a `role:"tool"` message answering an approval's
 * tool call carries `{"approved": true|false, "reason"?: "…"}` (or the words approve/approved/
 * yes or deny/denied/no, optionally followed by ": reason"). Results of its frontend tool calls
 * come as usual. Undefined when the request answers no approval; 400 when a decision cannot
 * be read. `answered`: the tool calls whose messages were taken as answers.
 */
export function agUiApprovalAnswers(body: AgUiRunRequest, pending: PendingInputs): (RunInputs & { answered: Set<string> }) | undefined {
  const tools = new Map<string, { m: Extract<AgUiMessage, { role: 'tool' }>; i: number }>();
  body.messages.forEach((m, i) => void (m.role === 'tool' && tools.set(m.toolCallId, { m, i })));
  const answered = new Set<string>();
  const take = (toolCallId: string) => {
    const t = tools.get(toolCallId);
    if (t) answered.add(toolCallId);
    return t;
  };
  const answers = answersFor(pending, {
    decision: (toolCallId) => {
      const t = take(toolCallId);
      return t && decisionOf(t.m, ['messages', t.i, 'content']);
    },
    result: (toolCallId) => {
      const t = take(toolCallId);
      return t && toolResultBlock(t.m, ['messages', t.i, 'content']);
    },
  });
  return answers && { ...answers, answered };
}

function decisionOf(m: Extract<AgUiMessage, { role: 'tool' }>, path: Array<string | number>): { approved: boolean; reason?: string } {
  const d = readDecision(typeof m.content === 'string' ? m.content : '');
  if (!d) throw bad(`the answer to an approval must be ${DECISION_FORMAT}`, path);
  return d;
}

function contextText(entries: NonNullable<AgUiRunRequest['context']>): string {
  if (entries.length === 0) return '';
  return ['Context provided by the application:', ...entries.map((c) => `- ${c.description}: ${c.value}`)].join('\n');
}

/** AG-UI tools → tools the model may call and the client executes. */
export function clientTools(tools: NonNullable<AgUiRunRequest['tools']>): ClientTool[] {
  const seen = new Set<string>();
  return tools.map((t, i) => {
    if (seen.has(t.name)) throw bad(`tool "${t.name}" is listed twice`, ['tools', i, 'name']);
    seen.add(t.name);
    const p = t.parameters;
    if (p !== undefined && p.type !== undefined && p.type !== 'object') throw bad('parameters must be a JSON Schema of type "object"', ['tools', i, 'parameters']);
    const input_schema = p === undefined ? { type: 'object', properties: {} } : { ...p, type: 'object' };
    return { name: t.name, description: t.description, input_schema };
  });
}

/** Arguments are JSON text; a model tool call needs an object. */
function parseArguments(args: string): Record<string, unknown> {
  try {
    const v = JSON.parse(args);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

/** Content → Anthropic blocks: text, images and documents (PDF, plain text); blank text is dropped. */
function userBlocks(content: string | ContentPart[], path: Array<string | number>): Block[] {
  if (typeof content === 'string') return content.trim() ? [{ type: 'text', text: content }] : [];
  const blocks: Block[] = [];
  content.forEach((part, i) => {
    const where = [...path, i];
    if (part.type === 'text') {
      if (part.text.trim()) blocks.push({ type: 'text', text: part.text });
      return;
    }
    if (part.type === 'audio' || part.type === 'video') throw bad(`${part.type} parts are not supported by this agent's model`, where);
    const src = part.source;
    if (src.type === 'file') throw bad('file sources (provider file handles) are not supported; send the data or a URL', [...where, 'source']);
    const mime = part.type === 'image' ? src.mimeType : (src.mimeType ?? 'application/pdf');
    const block = mime === undefined && src.type === 'url' ? { type: 'image', source: { type: 'url', url: src.value } } : mediaBlock(mime ?? '', src.type === 'data' ? { kind: 'base64', data: src.value } : { kind: 'url', url: src.value });
    const wrongKind = block && (part.type === 'image') !== (block.type === 'image');
    if (!block || wrongKind) throw bad(`${part.type} type ${mime} is not supported (${SUPPORTED_MEDIA}; plain text as data)`, [...where, 'source', 'mimeType']);
    blocks.push(block);
  });
  return blocks;
}

/** A tool message → the tool_result block answering its call. */
function toolResultBlock(m: Extract<AgUiMessage, { role: 'tool' }>, path: Array<string | number>): Block {
  const blocks = typeof m.content === 'string' ? null : userBlocks(m.content, path);
  const text = typeof m.content === 'string' ? m.content : null;
  const error = m.error ? { is_error: true } : {};
  if (m.error) {
    const detail = text ?? '';
    return { type: 'tool_result', tool_use_id: m.toolCallId, content: detail ? `${m.error}\n${detail}` : m.error, ...error };
  }
  if (blocks) return { type: 'tool_result', tool_use_id: m.toolCallId, content: blocks.length ? blocks : '' };
  return { type: 'tool_result', tool_use_id: m.toolCallId, content: text ?? '' };
}


/** `forwardedProps.timeout_ms` (the run's timeout) when the client sends one; 400 when it is not a valid timeout. */
export function agUiTimeout(body: AgUiRunRequest): number | undefined {
  const props = body.forwardedProps;
  if (typeof props !== 'object' || props === null || !('timeout_ms' in props)) return undefined;
  const r = TimeoutMs.safeParse((props as { timeout_ms: unknown }).timeout_ms);
  if (!r.success) throw bad(r.error.issues[0]?.message ?? 'timeout_ms is not valid', ['forwardedProps', 'timeout_ms']);
  return r.data;
}

/** `forwardedProps.multitask_strategy` and `forwardedProps.webhook` when the client sends them; 400 when one is not valid. */
export function agUiStartOptions(body: AgUiRunRequest): { strategy?: MultitaskStrategy; webhook?: string } {
  const props = body.forwardedProps;
  if (typeof props !== 'object' || props === null) return {};
  const p = props as { multitask_strategy?: unknown; webhook?: unknown };
  const out: { strategy?: MultitaskStrategy; webhook?: string } = {};
  if (p.multitask_strategy !== undefined) {
    const r = MultitaskStrategy.safeParse(p.multitask_strategy);
    if (!r.success) throw bad(r.error.issues[0]?.message ?? 'multitask_strategy is not valid', ['forwardedProps', 'multitask_strategy']);
    out.strategy = r.data;
  }
  if (p.webhook !== undefined) {
    const r = WebhookUrl.safeParse(p.webhook);
    if (!r.success) throw bad(r.error.issues[0]?.message ?? 'webhook is not valid', ['forwardedProps', 'webhook']);
    out.webhook = r.data;
  }
  return out;
}
