/**
 * Limits every HTTP surface shares: one body size, one body timeout, one JSON depth, one
 * SSE buffer cap. Read once at start-up (`setHttpLimits` in server.ts); the SSE streams and
 * guards built by routes read them from here, so no route has to thread them through.
 */
/** JSON-RPC bodies may carry files (base64), so A2A gets more room than the 1 MiB of the JSON routes. */
export const A2A_MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface HttpLimits {
  /** `AGENTSDK_BODY_TIMEOUT_MS`: a request body not fully received by then is answered 408. */
  bodyTimeoutMs: number;
  /** JSON nested deeper than this is refused before anything parses or walks it. */
  jsonMaxDepth: number;
  /** `AGENTSDK_SSE_MAX_BUFFER_BYTES`: per connection, what may wait for a slow reader before the stream is ended. */
  sseMaxBufferBytes: number;
  /** `AGENTSDK_SSE_WRITE_TIMEOUT_MS`: a stream whose socket does not drain for this long is ended. */
  sseWriteTimeoutMs: number;
}

export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = {
  bodyTimeoutMs: 30_000,
  jsonMaxDepth: 64,
  sseMaxBufferBytes: 1024 * 1024,
  sseWriteTimeoutMs: 30_000,
};

let current: HttpLimits = { ...DEFAULT_HTTP_LIMITS };

export function httpLimits(): Readonly<HttpLimits> {
  return current;
}

export function setHttpLimits(limits: Partial<HttpLimits>): void {
  current = { ...current, ...limits };
}

/** The limits from the environment; a malformed value is a start-up error, like every other setting. */
export function httpLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): HttpLimits {
  const int = (name: string, def: number, min: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} "${raw}" must be an integer >= ${min}`);
    return n;
  };
  return {
    bodyTimeoutMs: int('AGENTSDK_BODY_TIMEOUT_MS', DEFAULT_HTTP_LIMITS.bodyTimeoutMs, 1),
    jsonMaxDepth: DEFAULT_HTTP_LIMITS.jsonMaxDepth,
    sseMaxBufferBytes: int('AGENTSDK_SSE_MAX_BUFFER_BYTES', DEFAULT_HTTP_LIMITS.sseMaxBufferBytes, 1024),
    sseWriteTimeoutMs: int('AGENTSDK_SSE_WRITE_TIMEOUT_MS', DEFAULT_HTTP_LIMITS.sseWriteTimeoutMs, 1),
  };
}
