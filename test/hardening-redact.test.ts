/**
 * Upstream error text never carries credentials into responses, stored runs or the event log,
 * even from a gateway that echoes the request's Authorization / x-api-key headers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { redactSecrets } from '../src/redact.js';
import { startFakeAnthropic, type FakeAnthropic } from './fixtures/fake-anthropic.js';
import { call } from './helpers/api.js';
import { dialects } from './helpers/databases.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const API_KEY = 'sk-ant-api03-hardeningSECRETkey0123456789abcdef';
const AUTH_TOKEN = 'tok-hardening-SECRET-0123456789abcdef';
const OTHER_KEY = 'sk-ant-api03-someoneELSESkey9876543210';

describe('redactSecrets', () => {
  it('removes the known secrets and anything shaped like a key or an auth header', () => {
    const text = `denied: Authorization: Bearer ${AUTH_TOKEN}; x-api-key: ${API_KEY}; also ${OTHER_KEY}, {"api_key":"abc123xyz"} Basic dXNlcjpwYXNz`;
    const out = redactSecrets(text, [API_KEY, AUTH_TOKEN]);
    for (const secret of [API_KEY, AUTH_TOKEN, OTHER_KEY, 'abc123xyz', 'dXNlcjpwYXNz', 'sk-ant']) assert.ok(!out.includes(secret), `${secret} in ${out}`);
    assert.match(out, /^denied: /);
    assert.match(out, /Bearer \[redacted\]/);
    // A secret in any other shape is still removed verbatim.
    assert.equal(redactSecrets(`token=${AUTH_TOKEN}!`, [AUTH_TOKEN]), 'token=[redacted]!');
    assert.equal(redactSecrets(`plain ${AUTH_TOKEN} text`, [AUTH_TOKEN]), 'plain [redacted] text');
  });

  it('leaves ordinary error text alone', () => {
    for (const text of ['overloaded', 'model API error (HTTP 429): rate limited, retry after 2s', 'prompt is too long: 210000 tokens > 200000 maximum', 'invalid model: claude-x']) {
      assert.equal(redactSecrets(text, [API_KEY]), text);
    }
  });
});

for (const dialect of dialects()) {
  for (const credential of ['api key', 'auth token'] as const) {
    describe(`hardening: an upstream error that echoes the credential (${credential}) [${dialect}]`, () => {
      let fake: FakeAnthropic;
      let server: TestServer;
      const secret = credential === 'api key' ? API_KEY : AUTH_TOKEN;

      before(async () => {
        fake = await startFakeAnthropic();
        server = await startTestServer({ modelUrl: fake.url, dialect, env: credential === 'api key' ? { ANTHROPIC_API_KEY: API_KEY } : { ANTHROPIC_API_KEY: '', ANTHROPIC_AUTH_TOKEN: AUTH_TOKEN } });
      });
      after(async () => {
        await server.stop();
        await fake.close();
      });

      /** Everything stored about runs, as one string. */
      const stored = async () =>
        JSON.stringify([
          await server.store.db.kysely.selectFrom('runs').selectAll().execute(),
          await server.store.db.kysely.selectFrom('run_events').selectAll().execute(),
          await server.store.db.kysely.selectFrom('messages').selectAll().execute(),
        ]);

      it('is redacted in the answer, the stored run and the event log', async () => {
        fake.enqueue({ error: { status: 400, type: 'invalid_request_error', message: `gateway refused (${OTHER_KEY})`, echoCredentials: true } });
        const res = await call(`${server.url}/v1/run`, 'POST', { prompt: 'hi', session_id: `redact-${credential.replace(' ', '-')}` });
        assert.equal(res.status, 502, JSON.stringify(res.body));
        assert.equal(res.body.code, 'upstream_error');
        assert.ok(fake.requests.length === 1, 'the model was called');
        const sent = JSON.stringify(fake.requests[0].headers);
        assert.ok(sent.includes(secret), 'the fake saw (and echoed) the credential');
        const text = JSON.stringify(res.body);
        assert.match(text, /gateway refused/);
        for (const s of [secret, OTHER_KEY]) {
          assert.ok(!text.includes(s), `answer: ${text}`);
          assert.ok(!(await stored()).includes(s), 'stored run/events');
        }
        const run = await call(`${server.url}/v1/runs/${res.body.run_id}`, 'GET');
        assert.equal(run.status, 200);
        assert.ok(!JSON.stringify(run.body).includes(secret));
        const events = await fetch(`${server.url}/v1/runs/${res.body.run_id}/events`);
        const log = await events.text();
        assert.match(log, /gateway refused/);
        assert.ok(!log.includes(secret) && !log.includes(OTHER_KEY), log);
      });

      it('is redacted in an error event mid-stream', async () => {
        fake.enqueue({ content: [{ type: 'text', text: 'partial' }], streamError: { type: 'api_error', message: `upstream said x-api-key: ${API_KEY} Bearer ${AUTH_TOKEN}` } });
        const res = await call(`${server.url}/v1/run`, 'POST', { prompt: 'hi' });
        assert.ok(!JSON.stringify(res.body).includes(API_KEY) && !JSON.stringify(res.body).includes(AUTH_TOKEN), JSON.stringify(res.body));
        assert.ok(!(await stored()).includes(API_KEY));
      });
    });
  }
}
