/** Completion webhooks: signed per Standard Webhooks (checked with the library), one delivery per status, retries, restart, SSRF guard, one sender. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { ConfigError, loadConfig } from '../src/config.js';
import { startFakeAnthropic, type FakeAnthropic } from './fixtures/fake-anthropic.js';
import { assertError, call } from './helpers/api.js';
import { dialects, testDatabase, type Dialect, type TestDatabase } from './helpers/databases.js';
import { postJson, sleep, waitFor } from './helpers/http.js';
import { startTestServer, tempDir, type TestServer } from './helpers/server.js';
import { useServer } from './helpers/setup.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const ENV = { AGENTSDK_WEBHOOK_SECRET: SECRET, AGENTSDK_FETCH_ALLOW: '127.0.0.1', AGENTSDK_WEBHOOK_RETRY_MS: '100', AGENTSDK_WEBHOOK_POLL_MS: '100' };

interface Received {
  id: string;
  body: any;
  verified: boolean;
}

/** A webhook receiver on 127.0.0.1 that verifies every signature with the library; `answer` picks each status. */
async function startReceiver() {
  const verifier = new Webhook(SECRET);
  const received: Received[] = [];
  let answer: (n: number) => number = () => 200;
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      let verified = false;
      try {
        verifier.verify(raw, { 'webhook-id': String(req.headers['webhook-id']), 'webhook-timestamp': String(req.headers['webhook-timestamp']), 'webhook-signature': String(req.headers['webhook-signature']) });
        verified = true;
      } catch {
        /* recorded as unverified */
      }
      received.push({ id: String(req.headers['webhook-id']), body: JSON.parse(raw), verified });
      res.writeHead(answer(received.length)).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    answerWith(fn: (n: number) => number) {
      answer = fn;
    },
    reset() {
      received.length = 0;
      answer = () => 200;
    },
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

describe('webhook configuration', () => {
  it('takes a Standard Webhooks secret and the delivery settings; a bad secret stops start-up without being echoed', () => {
    const c = loadConfig({ AGENTSDK_WEBHOOK_SECRET: SECRET, AGENTSDK_WEBHOOK_MAX_ATTEMPTS: '3', AGENTSDK_WEBHOOK_RETRY_MS: '50', AGENTSDK_WEBHOOK_TIMEOUT_MS: '700', AGENTSDK_WEBHOOK_POLL_MS: '20' }, []);
    assert.deepEqual(c.webhooks, { secret: SECRET, maxAttempts: 3, retryMs: 50, timeoutMs: 700, pollMs: 20 });
    assert.deepEqual(loadConfig({}, []).webhooks, { secret: undefined, maxAttempts: 8, retryMs: 2000, timeoutMs: 10_000, pollMs: 1000 });
    for (const bad of ['too-short-and-not-whsec', 'whsec_c2hvcnQ=', `whsec_${'x'.repeat(10)}!`]) {
      assert.throws(
        () => loadConfig({ AGENTSDK_WEBHOOK_SECRET: bad }, []),
        (err: unknown) => err instanceof ConfigError && /AGENTSDK_WEBHOOK_SECRET/.test(err.message) && !err.message.includes(bad),
      );
    }
    assert.throws(() => loadConfig({ AGENTSDK_WEBHOOK_MAX_ATTEMPTS: '0' }, []), ConfigError);
  });
});

for (const dialect of dialects()) {
  describe(`completion webhooks [${dialect}]`, () => {
    let hook: Receiver;
    const app = useServer({ dialect, env: ENV, agents: { agents: { assistant: { tools: { current_time: 'ask' } } } } });
    /** No allow list: loopback and private addresses are refused. */
    const strict = useServer({ dialect, fake: () => app.fake, env: { AGENTSDK_WEBHOOK_SECRET: SECRET } });
    /** No secret: webhooks cannot be signed. */
    const unsigned = useServer({ dialect, fake: () => app.fake, env: { AGENTSDK_FETCH_ALLOW: '127.0.0.1' } });
    before(async () => (hook = await startReceiver()));
    after(() => hook.close());
    beforeEach(() => hook.reset());

    it('POSTs the run record once, signed per Standard Webhooks, and the run shows the delivery', async () => {
      app.fake.enqueue({ content: [{ type: 'text', text: 'done' }] });
      const res = await postJson(`${app.url}/v1/run`, { prompt: 'hi', webhook: hook.url });
      assert.equal(res.status, 200);
      const runId = res.body.run_id;
      await waitFor(() => hook.received.length >= 1, 5000, 'the delivery');
      await sleep(400); // a second delivery would have come by now
      assert.equal(hook.received.length, 1);
      const [d] = hook.received;
      assert.equal(d.verified, true, 'the signature verifies with the library');
      assert.match(d.id, /^whd_/);
      assert.equal(d.body.type, 'run.completed');
      assert.equal(d.body.data.id, runId);
      assert.equal(d.body.data.status, 'completed');
      assert.equal(d.body.data.output, 'done');
      assert.ok(!JSON.stringify(d.body).includes(SECRET.slice(6)), 'the secret is not in the payload');
      const run = await waitFor(async () => {
        const r = (await call(`${app.url}/v1/runs/${runId}`, 'GET')).body;
        return r.webhook?.deliveries[0]?.state === 'delivered' && r;
      }, 5000, 'delivered');
      assert.equal(run.webhook.url, hook.url);
      assert.deepEqual(
        run.webhook.deliveries.map((x: any) => [x.id, x.type, x.state, x.attempts, x.last_status]),
        [[d.id, 'run.completed', 'delivered', 1, 200]],
      );
    });

    it('one delivery per status the run reaches: waiting, then completed (REST background start)', async () => {
      app.fake.enqueue({ content: [{ type: 'tool_use', id: 'toolu_1', name: 'current_time', input: {} }], stop_reason: 'tool_use' }, { content: [{ type: 'text', text: 'it is noon' }] });
      const res = await postJson(`${app.url}/v1/runs`, { prompt: 'time?', background: true, webhook: hook.url });
      assert.equal(res.status, 202);
      assert.equal(res.body.webhook.url, hook.url);
      const runId = res.body.id;
      await waitFor(() => hook.received.length >= 1, 5000, 'the waiting delivery');
      assert.equal(hook.received[0].body.type, 'run.waiting');
      const approval = hook.received[0].body.data.pending.approvals[0].approval_id;
      assert.equal((await postJson(`${app.url}/v1/runs/${runId}/inputs`, { decisions: [{ approval_id: approval, approved: true }] })).status, 202);
      await waitFor(() => hook.received.length >= 2, 5000, 'the completed delivery');
      await sleep(400);
      assert.deepEqual(hook.received.map((r) => [r.body.type, r.verified]), [['run.waiting', true], ['run.completed', true]]);
      assert.notEqual(hook.received[0].id, hook.received[1].id);
      assert.equal(hook.received[1].body.data.output, 'it is noon');
    });

    it('retries after a 500 with the same webhook-id until the receiver takes it', async () => {
      hook.answerWith((n) => (n <= 2 ? 500 : 204));
      app.fake.enqueue({ content: [{ type: 'text', text: 'again' }] });
      const res = await postJson(`${app.url}/v1/run`, { prompt: 'hi', webhook: hook.url });
      await waitFor(() => hook.received.length >= 3, 10_000, 'three attempts');
      await sleep(400);
      assert.equal(hook.received.length, 3);
      assert.equal(new Set(hook.received.map((r) => r.id)).size, 1, 'one delivery, retried');
      assert.ok(hook.received.every((r) => r.verified));
      const run = await waitFor(async () => {
        const r = (await call(`${app.url}/v1/runs/${res.body.run_id}`, 'GET')).body;
        return r.webhook.deliveries[0].state === 'delivered' && r;
      }, 5000, 'delivered');
      assert.equal(run.webhook.deliveries[0].attempts, 3);
      assert.equal(run.webhook.deliveries[0].last_status, 204);
    });

    it('a receiver that keeps failing gets a bounded number of attempts; a 4xx is not retried', async () => {
      const bounded = await startTestServer({ dialect, modelUrl: app.fake.url, env: { ...ENV, AGENTSDK_WEBHOOK_MAX_ATTEMPTS: '3', AGENTSDK_WEBHOOK_RETRY_MS: '50' } });
      try {
        hook.answerWith(() => 503);
        app.fake.enqueue({ content: [{ type: 'text', text: 'x' }] });
        const res = await postJson(`${bounded.url}/v1/run`, { prompt: 'hi', webhook: hook.url });
        const failed = await waitFor(async () => {
          const d = (await call(`${bounded.url}/v1/runs/${res.body.run_id}`, 'GET')).body.webhook.deliveries[0];
          return d?.state === 'failed' && d;
        }, 10_000, 'failed');
        assert.equal(failed.attempts, 3);
        assert.equal(failed.last_status, 503);
        assert.equal(hook.received.length, 3);

        hook.reset();
        hook.answerWith(() => 410);
        app.fake.enqueue({ content: [{ type: 'text', text: 'y' }] });
        const gone = await postJson(`${bounded.url}/v1/run`, { prompt: 'hi', webhook: hook.url });
        const refused = await waitFor(async () => {
          const d = (await call(`${bounded.url}/v1/runs/${gone.body.run_id}`, 'GET')).body.webhook.deliveries[0];
          return d?.state === 'failed' && d;
        }, 10_000, 'refused');
        assert.equal(refused.attempts, 1);
        assert.equal(hook.received.length, 1);
      } finally {
        await bounded.stop();
      }
    });

    it('a private or loopback webhook address is refused with 400 unless allow-listed; nothing is stored', async () => {
      for (const url of [hook.url, 'http://10.0.0.7/hook', 'http://169.254.169.254/latest', 'http://[::1]:9/x', 'http://localhost:9/x']) {
        const res = await postJson(`${strict.url}/v1/run`, { prompt: 'hi', session_id: 'wh-private', webhook: url });
        assertError(res, 400, 'bad_request');
        assert.deepEqual(res.body.issues[0].path, ['webhook']);
      }
      assertError(await postJson(`${strict.url}/v1/runs`, { prompt: 'hi', webhook: 'ftp://example.com/x' }), 400, 'bad_request');
      assertError(await postJson(`${strict.url}/v1/runs`, { prompt: 'hi', webhook: 'not a url' }), 400, 'bad_request');
      assert.equal(await strict.server.store.threads.get('wh-private'), undefined);
      // Without a secret the server cannot sign: refused, and the secret never shows anywhere.
      const res = await postJson(`${unsigned.url}/v1/run`, { prompt: 'hi', webhook: hook.url });
      assertError(res, 400, 'bad_request');
      assert.match(res.body.error, /AGENTSDK_WEBHOOK_SECRET/);
    });

    it('the delivery goes out after a restart that happened between the run\'s end and the send', async () => {
      const tmp = tempDir();
      const db = await testDatabase(dialect, tmp.dir);
      let first: TestServer | undefined;
      let second: TestServer | undefined;
      try {
        first = await startTestServer({ modelUrl: app.fake.url, dbUrl: db.url, env: ENV });
        app.fake.enqueue({ hang: true });
        const res = await postJson(`${first.url}/v1/runs`, { prompt: 'hi', background: true, webhook: hook.url });
        const runId = res.body.id;
        await waitFor(() => first!.runtime.get(runId), 5000, 'live');
        // Shutting down interrupts the run: its end and its delivery are stored, but this instance no longer sends.
        await first.close(0);
        first = undefined;
        await sleep(300);
        assert.equal(hook.received.length, 0);
        second = await startTestServer({ modelUrl: app.fake.url, dbUrl: db.url, env: ENV });
        await waitFor(() => hook.received.length >= 1, 10_000, 'the delivery after the restart');
        await sleep(300);
        assert.equal(hook.received.length, 1);
        assert.equal(hook.received[0].verified, true);
        assert.equal(hook.received[0].body.type, 'run.interrupted');
        assert.equal(hook.received[0].body.data.id, runId);
        const shown = (await call(`${second.url}/v1/runs/${runId}`, 'GET')).body.webhook.deliveries[0];
        assert.equal(shown.type, 'run.interrupted');
      } finally {
        await second?.close(0);
        await first?.close(0);
        await db.drop();
        tmp.cleanup();
      }
    });

    it('webhook works on the chat protocols too (AI SDK body field)', async () => {
      app.fake.enqueue({ content: [{ type: 'text', text: 'chat' }] });
      const res = await fetch(`${app.url}/v1/ai-sdk/agents/assistant/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'wh-chat', messages: [{ id: 'm-wh-1', role: 'user', parts: [{ type: 'text', text: 'hi' }] }], webhook: hook.url }),
      });
      await res.text();
      await waitFor(() => hook.received.length >= 1, 5000, 'the delivery');
      assert.equal(hook.received[0].body.data.origin, 'ai-sdk');
      assert.equal(hook.received[0].verified, true);
    });
  });
}

describe('webhook deliveries with two instances on one PostgreSQL database', { skip: !process.env.TEST_DATABASE_URL && 'TEST_DATABASE_URL is not set' }, () => {
  let fake: FakeAnthropic;
  let hook: Receiver;
  let tmp: ReturnType<typeof tempDir>;
  let db: TestDatabase;
  const servers: TestServer[] = [];
  const dialect: Dialect = 'postgres';

  before(async () => {
    fake = await startFakeAnthropic();
    hook = await startReceiver();
    tmp = tempDir();
    db = await testDatabase(dialect, tmp.dir);
    for (let i = 0; i < 2; i++) servers.push(await startTestServer({ modelUrl: fake.url, dbUrl: db.url, env: { ...ENV, AGENTSDK_WEBHOOK_POLL_MS: '20' } }));
  });
  after(async () => {
    for (const s of servers) await s.stop();
    await hook.close();
    await fake.close();
    await db.drop();
    tmp.cleanup();
  });

  it('each delivery is sent by exactly one instance, also when both look for due deliveries all the time', async () => {
    for (let i = 0; i < 6; i++) fake.enqueue({ content: [{ type: 'text', text: `n${i}` }] });
    const runs = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => postJson(`${servers[i % 2].url}/v1/run`, { prompt: `p${i}`, webhook: hook.url })));
    await waitFor(() => hook.received.length >= 6, 10_000, 'six deliveries');
    await sleep(500);
    assert.equal(hook.received.length, 6);
    assert.deepEqual(new Set(hook.received.map((r) => r.body.data.id)), new Set(runs.map((r) => r.body.run_id)));
    assert.ok(hook.received.every((r) => r.verified));
  });
});
