import type { PendingInputs } from '../../contracts/common.js';
import type { RunInputs } from '../runtime/runtime.js';

/**
 * A human decision on an approval as protocols without a structured answer carry it
 * (AG-UI tool messages, A2A messages): `{"approved": true|false, "reason"?: "…"}` as JSON
 * or as an object, or the words approve/approved/yes/allow or deny/denied/no/reject,
 * optionally followed by ": reason". Undefined when it reads as neither.
 */
export function readDecision(value: unknown): { approved: boolean; reason?: string } | undefined {
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.startsWith('{')) {
      try {
        return readDecision(JSON.parse(text));
      } catch {
        return undefined;
      }
    }
    const words = /^(approved?|yes|allow|deny|denied|no|reject(?:ed)?)\b\s*(?::\s*([\s\S]*))?$/i.exec(text);
    if (!words) return undefined;
    const reason = words[2]?.trim();
    return { approved: /^(approved?|yes|allow)$/i.test(words[1]), ...(reason ? { reason } : {}) };
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as { approved?: unknown; reason?: unknown };
  if (typeof v.approved !== 'boolean') return undefined;
  return { approved: v.approved, ...(typeof v.reason === 'string' && v.reason.trim() ? { reason: v.reason.trim() } : {}) };
}

export const DECISION_FORMAT = '{"approved": true|false, "reason"?: "…"} (or "approve" / "deny: reason")';

type Decision = { approved: boolean; reason?: string };

/**
 * What a protocol request brings to a waiting run, looked up per pending tool call: decisions on
 * its approvals and results of its client tool calls. Undefined unless it decides at least one
 * approval (then that run continues; `Runtime.resume` with `complete` refuses what leaves any open).
 */
export function answersFor(
  pending: PendingInputs,
  lookup: { decision(toolCallId: string, approvalId: string): Decision | undefined; result(toolCallId: string): { [k: string]: unknown; content?: unknown; is_error?: unknown } | undefined },
): RunInputs | undefined {
  const decisions = pending.approvals.flatMap((a) => {
    const d = lookup.decision(a.tool_call_id, a.approval_id);
    return d ? [{ approval_id: a.approval_id, ...d }] : [];
  });
  if (decisions.length === 0) return undefined;
  const tool_results = pending.client_tool_calls.flatMap((c) => {
    const block = lookup.result(c.tool_call_id);
    if (!block) return [];
    const output = typeof block.content === 'string' ? block.content : JSON.stringify(block.content ?? '');
    return [{ tool_call_id: c.tool_call_id, output, ...(block.is_error ? { is_error: true } : {}) }];
  });
  return { decisions, tool_results };
}
