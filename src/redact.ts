/**
 * Removes credentials from text that came from outside (an upstream error body, a gateway's
 * message): the configured secrets verbatim, and anything shaped like a key or an auth header,
 * since a gateway may echo a credential this process never had.
 */
const PATTERNS: RegExp[] = [
  // Authorization: Bearer <token> / Basic <b64> (as header text or inside JSON).
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi,
  // x-api-key / api_key / authorization headers or fields echoed with a value.
  /\b(x-api-key|api[-_]?key|authorization|auth[-_]?token|anthropic[-_]api[-_]key|anthropic[-_]auth[-_]token)(["']?\s*[:=]\s*["']?)(?!\[redacted\]|Bearer\b|Basic\b)[^\s"',;}]+/gi,
  // Anthropic keys and tokens (sk-ant-api03-…, sk-ant-oat01-…), other sk- keys.
  /\bsk-ant-[A-Za-z0-9_-]{4,}/g,
  /\bsk-[A-Za-z0-9_-]{16,}/g,
];

const REDACTED = '[redacted]';

export function redactSecrets(text: string, knownSecrets: ReadonlyArray<string | undefined | null> = []): string {
  let out = text;
  // Longest first, so a secret that contains another is removed whole.
  const secrets = knownSecrets.filter((s): s is string => typeof s === 'string' && s.length >= 4).sort((a, b) => b.length - a.length);
  for (const secret of secrets) out = out.split(secret).join(REDACTED);
  for (const re of PATTERNS) {
    out = out.replace(re, (match, p1: string | undefined, p2: string | undefined) => {
      if (re === PATTERNS[0]) return `${p1} ${REDACTED}`;
      if (re === PATTERNS[1]) return `${p1}${p2}${REDACTED}`;
      return REDACTED;
    });
  }
  return out;
}
