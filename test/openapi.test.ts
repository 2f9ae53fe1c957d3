import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { compileErrors, validate } from '@readme/openapi-parser';
import { ErrorBody } from '../contracts/common.js';
import { renderOpenApi } from '../scripts/render-openapi.js';
import { call } from './helpers/api.js';
import { useServer } from './helpers/setup.js';

const committed = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

/** Every HTTP route the server mounts: health, the lean API, REST threads/runs/agents, AG-UI, AI SDK and A2A. */
const ROUTES = [
  'get /health',
  'get /ready',
  'post /v1/auth/stream-token',
  'post /v1/run',
  'post /v1/run/stream',
  'get /v1/threads',
  'get /v1/threads/summaries',
  'get /v1/threads/{id}',
  'get /v1/threads/{id}/messages',
  'patch /v1/threads/{id}/metadata',
  'delete /v1/threads/{id}',
  'get /v1/runs',
  'get /v1/runs/{id}',
  'post /v1/runs',
  'get /v1/runs/{id}/events',
  'get /v1/runs/{id}/wait',
  'post /v1/runs/{id}/cancel',
  'post /v1/runs/{id}/inputs',
  'get /v1/agents',
  'get /v1/usage',
  'post /v1/ag-ui/agents/{agentId}/runs',
  'get /v1/ag-ui/threads/{id}/messages',
  'post /v1/ai-sdk/agents/{agentId}/runs',
  'get /v1/ai-sdk/agents/{agentId}/chats/{chatId}/stream',
  'get /v1/ai-sdk/agents/{agentId}/runs/{chatId}/stream',
  'get /v1/ai-sdk/agents/{agentId}/chats/{chatId}/messages',
  'get /.well-known/agent-card.json',
  'get /v1/a2a/.well-known/agent-card.json',
  'get /v1/a2a/agents/{agentId}/.well-known/agent-card.json',
  'post /v1/a2a',
  'post /v1/a2a/agents/{agentId}',
];

describe('OpenAPI document', () => {
  let rendered: Awaited<ReturnType<typeof renderOpenApi>>;
  let doc: any;
  const app = useServer({ noCredentials: true });

  before(async () => {
    rendered = await renderOpenApi();
    doc = JSON.parse(rendered.json);
  });

  it('matches the committed openapi/openapi.json and generated SDK types (run `npm run openapi`)', () => {
    assert.equal(rendered.json, committed('openapi/openapi.json'), 'openapi/openapi.json is stale: run `npm run openapi`');
    assert.equal(rendered.types, committed('test/generated/openapi.d.ts'), 'test/generated/openapi.d.ts is stale: run `npm run openapi`');
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    assert.equal(doc.openapi, '3.1.0');
    const result = await validate(structuredClone(doc));
    assert.ok(result.valid, result.valid ? '' : compileErrors(result));
  });

  it('is what the server serves at /openapi.json', async () => {
    const res = await call(`${app.url}/openapi.json`, 'GET');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, doc);
  });

  it('describes every route the server mounts, and no other', () => {
    const ops = Object.entries(doc.paths).flatMap(([path, item]: [string, any]) => Object.keys(item).map((m) => `${m} ${path}`));
    assert.deepEqual([...ops].sort(), [...ROUTES].sort());
  });

  it('lists the event schemas of every stream and the request schemas of hand-mounted routes', () => {
    const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
    const stream = (path: string, method: string) => doc.paths[path][method].responses['200'].content['text/event-stream'].schema;
    assert.deepEqual(stream('/v1/runs', 'post'), ref('RunEvent'));
    assert.deepEqual(stream('/v1/runs/{id}/events', 'get'), ref('RunEvent'));
    assert.deepEqual(stream('/v1/run/stream', 'post'), ref('LeanStreamEvent'));
    assert.deepEqual(doc.paths['/v1/runs'].post.requestBody.content['application/json'].schema, ref('StartRunRequest'));
    assert.deepEqual(doc.paths['/v1/run'].post.requestBody.content['application/json'].schema, ref('RunRequest'));
    const eventTypes = doc.components.schemas.RunEvent.oneOf.map((s: any) => s.properties.type.const);
    assert.ok(eventTypes.includes('run.started') && eventTypes.includes('run.finished') && eventTypes.includes('text.delta'));
  });

  it('documents errors as the real error body, on every error response', async () => {
    const schema = doc.components.schemas.Error;
    assert.deepEqual(Object.keys(schema.properties).sort(), Object.keys(ErrorBody.shape).sort());
    assert.deepEqual(schema.required, ['error', 'code']);
    assert.deepEqual(schema.properties.code.enum, ErrorBody.shape.code.options);
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        for (const [status, response] of Object.entries<any>(op.responses)) {
          if (Number(status) < 400) continue;
          // JSON-RPC endpoints answer protocol errors in JSON-RPC's own shape.
          if (path.startsWith('/v1/a2a') && method === 'post' && status === '413') continue;
          // A wait that timed out answers the run as it is (the contract), not an error.
          if (path === '/v1/runs/{id}/wait' && status === '408') continue;
          assert.deepEqual(response.content, { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } }, `${method} ${path} ${status}`);
        }
      }
    }
    assert.ok(!Object.keys(doc.components.schemas).some((k) => k.startsWith('error.')), "no trpc-to-openapi's own error schemas");
    // And the real bodies are exactly that shape (no stack in production is checked in errors-production).
    for (const [method, path] of [
      ['GET', '/v1/threads/nope'],
      ['GET', '/v1/threads?limit=0'],
      ['POST', '/v1/runs'],
    ]) {
      const res = await call(`${app.url}${path}`, method, method === 'POST' ? { prompt: 'x' } : undefined);
      assert.ok(res.status >= 400);
      ErrorBody.strict().parse(res.body);
    }
  });
});
