import { EventSchema } from '@ag-ui/core/schemas';
import type { z } from 'zod';

/** The event schemas of `@ag-ui/core` by type, to find fields the protocol does not define. */
const byType = new Map<string, z.ZodObject>(
  (EventSchema as unknown as { options: z.ZodObject[] }).options.map((s) => [String((s.shape.type as z.ZodLiteral).value), s]),
);

/**
 * Checks a whole AG-UI stream the way the official client does not: every
 * event valid for `@ag-ui/core` (and without fields it does not define), the
 * first RUN_STARTED with the request's ids, exactly one terminal event and it
 * is last, every START with its END (and nothing in between without one).
 * Returns the problems; [] when the stream is sound.
 */
export function agUiStreamProblems(events: any[], ids: { threadId: string; runId: string }): string[] {
  const problems: string[] = [];
  const open = { text: new Set<string>(), tool: new Set<string>(), reasoning: new Set<string>(), span: new Set<string>(), step: new Set<string>() };
  const want = (cond: boolean, msg: string) => void (cond || problems.push(msg));

  events.forEach((e, i) => {
    const at = `#${i} ${e?.type}`;
    const r = EventSchema.safeParse(e);
    if (!r.success) problems.push(`${at}: not a valid AG-UI event: ${r.error.issues.map((x) => `${x.path.join('.')} ${x.message}`).join('; ')}`);
    const schema = byType.get(e?.type);
    if (schema) for (const k of Object.keys(e)) want(k in schema.shape, `${at}: field "${k}" is not in the protocol`);
    switch (e?.type) {
      case 'RUN_STARTED':
        want(i === 0, `${at}: RUN_STARTED must be first`);
        want(e.threadId === ids.threadId && e.runId === ids.runId, `${at}: ids ${e.threadId}/${e.runId} do not echo the request`);
        break;
      case 'TEXT_MESSAGE_START':
        want(!open.text.has(e.messageId), `${at}: text ${e.messageId} already open`);
        open.text.add(e.messageId);
        break;
      case 'TEXT_MESSAGE_CONTENT':
        want(open.text.has(e.messageId), `${at}: content for text ${e.messageId} that is not open`);
        break;
      case 'TEXT_MESSAGE_END':
        want(open.text.delete(e.messageId), `${at}: end of text ${e.messageId} that is not open`);
        break;
      case 'TOOL_CALL_START':
        want(!open.tool.has(e.toolCallId), `${at}: tool call ${e.toolCallId} already open`);
        open.tool.add(e.toolCallId);
        break;
      case 'TOOL_CALL_ARGS':
        want(open.tool.has(e.toolCallId), `${at}: args for tool call ${e.toolCallId} that is not open`);
        break;
      case 'TOOL_CALL_END':
        want(open.tool.delete(e.toolCallId), `${at}: end of tool call ${e.toolCallId} that is not open`);
        break;
      case 'REASONING_START':
        open.span.add(e.messageId);
        break;
      case 'REASONING_MESSAGE_START':
        want(open.span.has(e.messageId), `${at}: reasoning message outside a reasoning span`);
        open.reasoning.add(e.messageId);
        break;
      case 'REASONING_MESSAGE_CONTENT':
        want(open.reasoning.has(e.messageId), `${at}: reasoning content for ${e.messageId} that is not open`);
        break;
      case 'REASONING_MESSAGE_END':
        want(open.reasoning.delete(e.messageId), `${at}: reasoning end for ${e.messageId} that is not open`);
        break;
      case 'REASONING_END':
        want(open.span.delete(e.messageId), `${at}: end of reasoning span ${e.messageId} that is not open`);
        break;
      case 'STEP_STARTED':
        want(!open.step.has(e.stepName), `${at}: step ${e.stepName} already open`);
        open.step.add(e.stepName);
        break;
      case 'STEP_FINISHED':
        want(open.step.delete(e.stepName), `${at}: step ${e.stepName} finished but not started`);
        break;
      case 'RUN_FINISHED':
        want(e.threadId === ids.threadId && e.runId === ids.runId, `${at}: ids do not echo the request`);
        break;
    }
  });
  const terminals = events.map((e, i) => [e?.type, i] as const).filter(([t]) => t === 'RUN_FINISHED' || t === 'RUN_ERROR');
  want(terminals.length === 1, `expected exactly one terminal event, got ${terminals.length}`);
  want(terminals.length > 0 && terminals[0][1] === events.length - 1, 'the terminal event is not the last one');
  for (const [kind, ids_] of Object.entries(open)) want(ids_.size === 0, `${kind} left open: ${[...ids_].join(', ')}`);
  return problems;
}

/** What one request put on the wire: the raw body text and its events. */
export interface Captured {
  body: any;
  raw: string;
  events: any[];
}

/** fetch for HttpAgent that keeps a copy of what went over the wire in `captured`. */
export function teeFetch(captured: Captured[]) {
  return async (input: string, init: RequestInit): Promise<Response> => {
    const res = await fetch(input, init);
    const entry: Captured = { body: JSON.parse(String(init.body)), raw: '', events: [] };
    captured.push(entry);
    if (res.ok) {
      entry.raw = await res.clone().text();
      entry.events = entry.raw
        .split('\n\n')
        .filter((f) => f.startsWith('data: '))
        .map((f) => JSON.parse(f.slice('data: '.length)));
    }
    return res;
  };
}
