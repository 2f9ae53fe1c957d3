import { initTRPC } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import type { TrpcContext } from './context.js';
import { formatTrpcError } from './errors.js';

/** Per-procedure meta: the REST mapping, plus what the OpenAPI document needs beyond it. */
export type ApiMeta = OpenApiMeta<{
  /** Success status when it is not 200 (204 no content, 202 accepted). */
  successStatus?: 202 | 204;
  /** Error statuses the route can answer, documented with the shared error schema. */
  errors?: number[];
}>;

/** SSE keep-alive for subscriptions: a ping every 15 s; the client reconnects after 2 missed ones. */
export const SSE_PING_MS = 15_000;
export const SSE_RECONNECT_AFTER_MS = 35_000;

export const t = initTRPC
  .context<TrpcContext>()
  .meta<ApiMeta>()
  .create({
    errorFormatter: ({ error, ctx, path }) => formatTrpcError(error, path, ctx?.production ?? true),
    sse: {
      ping: { enabled: true, intervalMs: SSE_PING_MS },
      client: { reconnectAfterInactivityMs: SSE_RECONNECT_AFTER_MS },
    },
  });

export const router = t.router;
export const procedure = t.procedure;

/** REST mapping for a procedure (trpc-to-openapi), no auth; error statuses documented with the shared schema. */
export function rest(
  method: NonNullable<ApiMeta['openapi']>['method'],
  path: `/${string}`,
  summary: string,
  opts: { tag: string; errors: number[]; successStatus?: 202 | 204; description?: string },
): ApiMeta {
  return {
    openapi: { method, path, summary, description: opts.description, tags: [opts.tag], protect: false, errorResponses: {} },
    errors: opts.errors,
    successStatus: opts.successStatus,
  };
}
