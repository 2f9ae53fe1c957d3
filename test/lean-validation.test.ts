import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { postJson } from './helpers/http.js';
import { dialects } from './helpers/databases.js';
import { useServer } from './helpers/setup.js';

for (const dialect of dialects()) describe(`lean API input validation [${dialect}]`, () => {
  const app = useServer({ dialect });

  const raw = (path: string, body: string, contentType: string | null = 'application/json') =>
    fetch(`${app.url}${path}`, { method: 'POST', headers: contentType ? { 'content-type': contentType } : {}, body }).then(async (r) => ({ status: r.status, body: await r.json() }));

  const cases: Array<[string, string, number, RegExp]> = [
    ['empty body', '', 400, /empty/],
    ['whitespace body', '   ', 400, /empty/],
    ['malformed JSON', '{"prompt":', 400, /not valid JSON/],
    ['several JSON values', '{"prompt":"a"}{"prompt":"b"}', 400, /exactly one JSON value/],
    ['an array', '[{"prompt":"a"}]', 400, /JSON object.*array/],
    ['a string', '"hello"', 400, /JSON object.*string/],
    ['null', 'null', 400, /JSON object.*null/],
    ['unknown field', '{"prompt":"a","model":"x"}', 400, /unknown field.*model/],
    ['missing prompt', '{}', 400, /prompt/],
    ['blank prompt', '{"prompt":"  \\n "}', 400, /prompt must not be blank/],
    ['prompt not a string', '{"prompt":42}', 400, /prompt must be a string/],
    ['session_id not a string', '{"prompt":"a","session_id":5}', 400, /session_id/],
    ['empty session_id', '{"prompt":"a","session_id":""}', 400, /session_id/],
    ['timeout_ms zero', '{"prompt":"a","timeout_ms":0}', 400, /timeout_ms must be positive/],
    ['timeout_ms negative', '{"prompt":"a","timeout_ms":-5}', 400, /timeout_ms must be positive/],
    ['timeout_ms fractional', '{"prompt":"a","timeout_ms":1.5}', 400, /timeout_ms must be an integer/],
    ['timeout_ms as string', '{"prompt":"a","timeout_ms":"100"}', 400, /timeout_ms must be a number/],
  ];

  for (const path of ['/v1/run', '/v1/run/stream']) {
    for (const [name, body, status, message] of cases) {
      it(`${path}: ${name} → ${status}`, async () => {
        const res = await raw(path, body);
        assert.equal(res.status, status);
        assert.match(res.body.error, message);
        assert.equal(res.body.code, 'bad_request');
      });
    }

    it(`${path}: non-JSON content type → 415`, async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', null]) {
        const res = await raw(path, '{"prompt":"a"}', type);
        assert.equal(res.status, 415, String(type));
        assert.equal(res.body.code, 'unsupported_media_type');
      }
    });

    it(`${path}: body over 1 MiB → 413`, async () => {
      const res = await raw(path, JSON.stringify({ prompt: 'x'.repeat(1024 * 1024) }));
      assert.equal(res.status, 413);
      assert.equal(res.body.code, 'payload_too_large');
    });
  }

  it('lists every problem at once, with paths', async () => {
    const res = await postJson(`${app.url}/v1/run`, { prompt: '', timeout_ms: -1, extra: true });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.issues.map((i: any) => i.path.join('.')).sort(), ['', 'prompt', 'timeout_ms']);
  });

  it('unknown routes answer a JSON 404', async () => {
    const res = await fetch(`${app.url}/v1/nope`);
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { error: 'no route for GET /v1/nope', code: 'not_found' });
  });

  it('bad input stores nothing and never calls the model', async () => {
    const count = async (t: 'runs' | 'threads' | 'messages' | 'run_events') =>
      Number((await app.server.store.db.kysely.selectFrom(t).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    assert.deepEqual(await Promise.all([count('runs'), count('threads'), count('messages'), count('run_events')]), [0, 0, 0, 0]);
    assert.equal(app.fake.requests.length, 0);
  });
});

describe('lean API without model credentials', () => {
  const app = useServer({ noCredentials: true });

  it('starts, serves health, and answers runs with 503 storing nothing', async () => {
    assert.equal((await fetch(`${app.url}/health`)).status, 200);
    for (const path of ['/v1/run', '/v1/run/stream']) {
      const res = await postJson(`${app.url}${path}`, { prompt: 'hi' });
      assert.equal(res.status, 503);
      assert.equal(res.body.code, 'unavailable');
      assert.match(res.body.error, /ANTHROPIC_API_KEY/);
    }
    const runs = await app.server.store.db.kysely.selectFrom('runs').selectAll().execute();
    assert.equal(runs.length, 0);
  });
});

describe('credentials', () => {
  const app = useServer({ env: { ANTHROPIC_AUTH_TOKEN: 'token-123' } });

  it('ANTHROPIC_AUTH_TOKEN wins over ANTHROPIC_API_KEY, and only one is sent', async () => {
    const res = await postJson(`${app.url}/v1/run`, { prompt: 'hi' });
    assert.equal(res.status, 200);
    assert.equal(app.fake.requests[0].headers.authorization, 'Bearer token-123');
    assert.equal(app.fake.requests[0].headers['x-api-key'], undefined);
  });
});
