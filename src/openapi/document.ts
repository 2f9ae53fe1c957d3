import { forEachOpenApiProcedure, generateOpenApiDocument, normalizePath, type OpenAPIObject } from 'trpc-to-openapi';
import pkg from '../../package.json' with { type: 'json' };
import type { ApiMeta } from '../trpc/init.js';
import { appRouter } from '../trpc/router.js';
import { errorResponses, handMountedPaths } from './hand-mounted.js';

const DESCRIPTION = [
  'One agent server, many protocols. REST routes here are generated from the same contracts as the tRPC procedures at `/trpc`;',
  'the streaming routes are Server-Sent Events whose frames are the listed event schemas.',
  'Every error, on every route, has the body `Error`.',
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
    securitySchemes: {},
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
  if (Object.keys(doc.components?.securitySchemes ?? {}).length === 0) delete doc.components!.securitySchemes;
  return doc;
}
