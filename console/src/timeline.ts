// A run's timeline from its canonical events (GET /v1/runs/:id/events): model calls, tool calls, the run's ends.
import type { SeqEvent, Usage } from './api';

export interface ModelCall {
  kind: 'model';
  step: number;
  messageId: string;
  active: boolean;
  durationMs?: number;
  firstTokenMs?: number | null;
  usage?: Usage;
  stopReason?: string | null;
  textChars: number;
  reasoningChars: number;
  toolNames: string[];
}
export interface ToolCallItem {
  kind: 'tool';
  id: string;
  name: string;
  input?: unknown;
  active: boolean;
  output?: string;
  isError?: boolean;
  denied?: boolean;
  durationMs?: number;
  approval?: 'requested';
}
export interface Marker {
  kind: 'marker';
  label: string;
  detail?: string;
  error?: boolean;
}
export type TimelineItem = ModelCall | ToolCallItem | Marker;

export interface Timeline {
  items: TimelineItem[];
  usage: Usage;
  ended: boolean;
  lastSeq: number;
}

export const emptyTimeline = (): Timeline => ({ items: [], usage: { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 }, ended: false, lastSeq: 0 });

/** Folds one event into the timeline (pure: returns a new object, so React sees the change). */
export function addEvent(t: Timeline, { seq, event: e }: SeqEvent): Timeline {
  if (seq <= t.lastSeq) return t;
  const items = [...t.items];
  const next: Timeline = { ...t, items, lastSeq: seq };
  const lastModel = (): number => {
    for (let i = items.length - 1; i >= 0; i--) if (items[i].kind === 'model') return i;
    return -1;
  };
  const tool = (id: string): number => items.findIndex((x) => x.kind === 'tool' && x.id === id);
  switch (e.type) {
    case 'run.started':
      items.push({ kind: 'marker', label: e.resumed ? 'Resumed' : 'Started', detail: e.agent_id });
      next.ended = false;
      break;
    case 'step.started':
      items.push({ kind: 'model', step: e.step, messageId: e.message_id, active: true, textChars: 0, reasoningChars: 0, toolNames: [] });
      break;
    case 'text.delta':
    case 'reasoning.delta': {
      const i = lastModel();
      if (i >= 0) {
        const m = { ...(items[i] as ModelCall) };
        if (e.type === 'text.delta') m.textChars += String(e.delta).length;
        else m.reasoningChars += String(e.delta).length;
        items[i] = m;
      }
      break;
    }
    case 'tool.call.start': {
      const i = lastModel();
      if (i >= 0) items[i] = { ...(items[i] as ModelCall), toolNames: [...(items[i] as ModelCall).toolNames, e.name] };
      break;
    }
    case 'step.finished': {
      const i = lastModel();
      if (i >= 0) items[i] = { ...(items[i] as ModelCall), active: false, durationMs: e.duration_ms, firstTokenMs: e.first_token_ms, usage: e.usage, stopReason: e.stop_reason };
      if (e.usage) {
        const u = e.usage as Usage;
        next.usage = {
          input_tokens: t.usage.input_tokens + u.input_tokens,
          output_tokens: t.usage.output_tokens + u.output_tokens,
          cache_read_input_tokens: t.usage.cache_read_input_tokens + u.cache_read_input_tokens,
          cache_creation_input_tokens: t.usage.cache_creation_input_tokens + u.cache_creation_input_tokens,
        };
      }
      break;
    }
    case 'tool.call.end':
      if (tool(e.id) < 0) items.push({ kind: 'tool', id: e.id, name: e.name, input: e.input, active: true });
      break;
    case 'tool.approval.requested': {
      const i = tool(e.id);
      if (i >= 0) items[i] = { ...(items[i] as ToolCallItem), approval: 'requested' };
      else items.push({ kind: 'tool', id: e.id, name: e.name, input: e.input, active: true, approval: 'requested' });
      break;
    }
    case 'tool.result': {
      const i = tool(e.id);
      const done = { active: false, output: e.output, isError: e.is_error, denied: e.denied, durationMs: e.duration_ms };
      if (i >= 0) items[i] = { ...(items[i] as ToolCallItem), ...done };
      else items.push({ kind: 'tool', id: e.id, name: e.name, ...done });
      break;
    }
    case 'context.compacted':
      items.push({ kind: 'marker', label: 'Compacted', detail: `${e.turns} turns, ~${e.tokens_before} → ~${e.tokens_after} tokens` });
      break;
    case 'run.finished':
      items.push({ kind: 'marker', label: e.status === 'waiting' ? 'Waiting for input' : `Finished: ${e.status}`, detail: e.stop_reason ?? undefined });
      next.ended = e.status !== 'waiting';
      break;
    case 'run.error':
      items.push({ kind: 'marker', label: `Error: ${e.status}`, detail: `${e.message} (${e.code})`, error: true });
      next.ended = true;
      break;
  }
  return next;
}
