import { forEachOpenApiProcedure, generateOpenApiDocument, normalizePath, type OpenAPIObject } from 'trpc-to-openapi';
import pkg from '../../package.json' with { type: 'json' };
import type { ApiMeta } from '../trpc/init.js';
import { appRouter } from '../trpc/router.js';
import { isPublicRoute } from '../http/auth.js';
import { errorResponses, handMountedPaths } from './hand-mounted.js';

const DESCRIPTION = [
  'One agent server, many protocols. REST routes here are generated from the same contracts as the tRPC procedures at `/trpc`;',
  'the streaming routes are Server-Sent Events whose frames are the listed event schemas.',
  'Every error, on every route, has the body `Error`.',
  'Authentication: an API key or JWT as `Authorization: Bearer …` (or the key as `x-api-key`); routes marked without security are public.',
  'Event streams opened by a browser EventSource may instead pass `?access_token=` with a token from `POST /v1/auth/stream-token` (GET event streams only).',
].join(' ');

let built: OpenAPIObject | undefined;

/**
 * OpenAPI 3.1: the procedures' REST mapping plus the hand-mounted routes, errors documented as
 * they really are. It depends on the contracts alone, so it is built once per process.
 */
export function buildOpenApiDocument(): OpenAPIObject {
  return (built ??= build());
}

function build(): OpenAPIObject {
  const doc = generateOpenApiDocument(appRouter, {
    title: 'Agent server',
    description: DESCRIPTION,
    version: pkg.version,
    baseUrl: '/',
    securitySchemes: SECURITY_SCHEMES,
    tags: ['meta', 'run', 'threads', 'runs', 'agents', 'ag-ui', 'ai-sdk', 'a2a'],
    paths: handMountedPaths,
  });
  // trpc-to-openapi documents neither non-200 successes nor our error body: set both from the meta.
  forEachOpenApiProcedure<ApiMeta>(appRouter._def.procedures, ({ meta }) => {
    const op = doc.paths![normalizePath(meta.openapi.path)]![meta.openapi.method.toLowerCase() as 'get']!;
    const responses = op.responses as Record<string, unknown>;
    if (meta.successStatus) {
      const ok = responses['200'];
      delete responses['200'];
      responses[meta.successStatus] = meta.successStatus === 204 ? { description: 'Done; no content' } : ok;
    }
    Object.assign(responses, errorResponses(meta.errors ?? [], { $ref: '#/components/schemas/Error' }));
  });
  secure(doc);
  return doc;
}

/** The same credential either way: an API key or a JWT as a bearer token, or the key in `x-api-key`. */
const SECURITY_SCHEMES = {
  bearer: { type: 'http', scheme: 'bearer', description: 'An API key (AGENTSDK_API_KEYS) or a JWT (AGENTSDK_JWT_*): `Authorization: Bearer <credential>`' },
  apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'An API key in the `x-api-key` header' },
} as const;

/** One global requirement (either scheme); public routes opt out; every other route documents 401 and 403. */
function secure(doc: OpenAPIObject): void {
  doc.security = [{ bearer: [] }, { apiKey: [] }];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(item as Record<string, { security?: unknown[]; responses: Record<string, unknown> }>)) {
      if (isPublicRoute({ method: method.toUpperCase(), path })) {
        op.security = [];
        continue;
      }
      delete op.security;
      Object.assign(op.responses, errorResponses([401, 403], { $ref: '#/components/schemas/Error' }));
      // Keep the responses in status order.
      op.responses = Object.fromEntries(Object.entries(op.responses).sort(([a], [b]) => a.localeCompare(b)));
    }
  }
}