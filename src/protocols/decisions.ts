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
