import Anthropic from '@anthropic-ai/sdk';
import type { Config } from '../config.js';
import { redactSecrets } from '../redact.js';
import { createModelFetch } from './model-fetch.js';

/** One SDK client for the process; exactly one credential is passed so the SDK never mixes them. */
export function createModelClient(config: Config, opts: { onUpstream?: UpstreamListener } = {}): Anthropic | null {
  if (!config.credentials) return null;
  return new Anthropic({
    ...('authToken' in config.credentials ? { authToken: config.credentials.authToken, apiKey: null } : { apiKey: config.credentials.apiKey, authToken: null }),
    baseURL: config.anthropicBaseUrl ?? null,
    maxRetries: config.anthropicMaxRetries,
    // The run's own timeout bounds the call; the SDK's 10-minute default would cut long runs short.
    timeout: 2_147_483_647,
    fetch: redactingFetch(observedFetch(createModelFetch(), opts.onUpstream), Object.values(config.credentials)),
    // The SDK's own spans go to the global tracer provider, which the server never registers: they
    // would be no-ops that still cost ~1.6% of a run's CPU (attributes, URL parsing). The server's
    // `chat {model}` span (observability/tracing.ts) describes each model call instead.
    openTelemetry: { traces: { enabled: false }, propagation: false },
  });
}

/**
 * Error bodies from the API (or a gateway before it) reach users through the SDK's error
 * message: a gateway that echoes the request's Authorization header would put the credential
 * in responses, stored runs and logs. Their text is redacted here, before the SDK reads it.
 */
export function redactingFetch(inner: typeof fetch, secrets: string[]): typeof fetch {
  return async (input, init) => {
    const res = await inner(input, init);
    if (res.ok) return res;
    return new Proxy(res, {
      get(target, prop) {
        if (prop === 'text') return async () => redactSecrets(await target.text(), secrets);
        if (prop === 'json') return async () => JSON.parse(redactSecrets(await target.text(), secrets));
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
}

export type ModelClient = Anthropic;

/** Each HTTP attempt of the SDK: its status (`network`: none) and whether it was a retry. */
export type UpstreamListener = (status: number | 'network', retry: boolean) => void;

/** The SDK numbers its attempts in `x-stainless-retry-count`: retries are visible per request. */
function observedFetch(inner: typeof fetch, listener?: UpstreamListener): typeof fetch {
  if (!listener) return inner;
  return async (input, init) => {
    // The SDK passes a Headers; copying one costs more than the rest of this wrapper.
    const h = init?.headers;
    const count = h instanceof Headers ? h.get('x-stainless-retry-count') : new Headers(h).get('x-stainless-retry-count');
    const retry = count !== null && count !== '0';
    try {
      const res = await inner(input, init);
      listener(res.status, retry);
      return res;
    } catch (err) {
      if (!init?.signal?.aborted) listener('network', retry);
      throw err;
    }
  };
}
