import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { HttpAgent } from '@ag-ui/client';
import { ClientFactory, ClientFactoryOptions, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { createTRPCClient, httpLink, httpSubscriptionLink, TRPCClientError } from '@trpc/client';
import { DefaultChatTransport, readUIMessageStream, type UIMessage } from 'ai';
import { EventSource } from 'eventsource';
import createClient from 'openapi-fetch';
import { pino } from 'pino';
import type { AppRouter } from '../src/trpc/router.js';
import { startJwksServer, signHs256, unsigned, type JwksServer } from './fixtures/jwks-server.js';
import type { paths } from './generated/openapi.js';
import { message, send } from './helpers/a2a.js';
import { assertError } from './helpers/api.js';
import { dialects } from './helpers/databases.js';
import { readJson } from './helpers/http.js';
import { useServer } from './helpers/setup.js';

const ENV_KEY = `env-${randomBytes(16).toString('hex')}`;
const FILE_KEY = `file-${randomBytes(16).toString('hex')}`;
const SECRET = randomBytes(32).toString('hex');
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'agent-server-test';
const ENV_KEY_ID = `key_${createHash('sha256').update(ENV_KEY).digest('hex').slice(0, 8)}`;

type Headers = Record<string, string>;
interface Cred {
  name: string;
  headers: () => Headers;
  /** Principal id expected in the request log; undefined = refused with 401. */
  principal?: string;
}

/** Every log line, to find the principal of each request and to prove no credential is ever logged. */
const logLines: string[] = [];
const logger = pino({ level: 'debug' }, new Writable({ write: (chunk, _enc, cb) => (logLines.push(String(chunk)), cb()) }));

for (const dialect of dialects()) describe(`authentication on every surface [${dialect}]`, () => {
  let jwks: JwksServer;
  let hs256 = '';
  let rs256 = '';
  const creds: Cred[] = [
    { name: 'no credential', headers: () => ({}) },
    { name: 'a bad key', headers: () => ({ authorization: `Bearer not-a-key-${randomBytes(8).toString('hex')}` }) },
    { name: 'the env key (bearer)', headers: () => ({ authorization: `Bearer ${ENV_KEY}` }), principal: ENV_KEY_ID },
    { name: 'the keys-file key (x-api-key)', headers: () => ({ 'x-api-key': FILE_KEY }), principal: 'alice' },
    { name: 'an HS256 JWT', headers: () => ({ authorization: `Bearer ${hs256}` }), principal: 'user:hs-user' },
    { name: 'an RS256 JWT (JWKS)', headers: () => ({ authorization: `Bearer ${rs256}` }), principal: 'user:rs-user' },
  ];
  const admin: Headers = { authorization: `Bearer ${ENV_KEY}` };

  const app = useServer({
    dialect,
    logger,
    prepare: async () => {
      jwks = await startJwksServer();
      const file = join(process.env.TMPDIR ?? '/tmp', `keys-${randomUUID()}.json`);
      writeFileSync(file, JSON.stringify([{ name: 'alice', sha256: createHash('sha256').update(FILE_KEY).digest('hex'), admin: false }]));
      return {
        env: {
          AGENTSDK_API_KEYS: ENV_KEY,
          AGENTSDK_API_KEYS_FILE: file,
          AGENTSDK_JWT_SECRET: SECRET,
          AGENTSDK_JWT_JWKS_URL: jwks.url,
          AGENTSDK_JWT_ISSUER: ISSUER,
          AGENTSDK_JWT_AUDIENCE: AUDIENCE,
        },
      };
    },
  });
  let runId: string;
  let eventsPath = '';

  before(async () => {
    hs256 = await signHs256(SECRET, { sub: 'hs-user' }, { issuer: ISSUER, audience: AUDIENCE });
    rs256 = await jwks.sign({ sub: 'rs-user' }, { issuer: ISSUER, audience: AUDIENCE });
    const run = await readJson(await fetch(`${app.url}/v1/run`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'seed' }) }));
    assert.equal(run.status, 200, JSON.stringify(run.body));
    runId = run.body.run_id;
  });
  after(async () => {
    await jwks?.close();
    const secrets = [ENV_KEY, FILE_KEY, SECRET, hs256, rs256].filter(Boolean);
    for (const line of logLines) for (const s of secrets) assert.ok(!line.includes(s), `a credential appears in a log line: ${line.slice(0, 200)}`);
  });

  /** The principal the request log line names for the last request to `path`. */
  const loggedPrincipal = (path: string) =>
    logLines
      .map((l) => JSON.parse(l))
      .filter((r) => r.msg === 'request' && r.path === path)
      .at(-1)?.principal;

  const expect401 = (status: number | undefined, what: string) => assert.equal(status, 401, what);

  /** Each surface: make one authenticated-or-not call with `headers`, return the HTTP status. */
  const surfaces: Record<string, { path: () => string; call: (headers: Headers) => Promise<number | undefined> }> = {
    'lean API (fetch POST /v1/run)': {
      path: () => '/v1/run',
      call: async (headers) => {
        const res = await fetch(`${app.url}/v1/run`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'hi' }) });
        const body = await readJson(res);
        if (res.status === 401) assertError(body, 401, 'unauthorized');
        return res.status;
      },
    },
    'REST (openapi-fetch GET /v1/threads)': {
      path: () => '/v1/threads',
      call: async (headers) => {
        const api = createClient<paths>({ baseUrl: app.url, headers });
        const res = await api.GET('/v1/threads', { params: { query: { limit: 5 } } });
        if (res.response.status === 401) {
          assert.equal((res.error as any)?.code, 'unauthorized');
          assert.match(res.response.headers.get('www-authenticate') ?? '', /^Bearer/);
        }
        return res.response.status;
      },
    },
    'tRPC (@trpc/client httpLink)': {
      path: () => '/trpc/threads.list',
      call: async (headers) => {
        const trpc = createTRPCClient<AppRouter>({ links: [httpLink({ url: `${app.url}/trpc`, headers })] });
        try {
          await trpc.threads.list.query({ limit: 5 });
          return 200;
        } catch (err) {
          assert.ok(err instanceof TRPCClientError, String(err));
          return (err.meta?.response as Response | undefined)?.status;
        }
      },
    },
    'GET /v1/runs/:id/events': {
      path: () => eventsPath,
      call: async (headers) => {
        // Runs are their owner's: each principal follows a run of its own (a refused one tries the seed run).
        const own = await readJson(await fetch(`${app.url}/v1/run`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'mine' }) }));
        eventsPath = `/v1/runs/${own.status === 200 ? own.body.run_id : runId}/events`;
        const res = await fetch(`${app.url}${eventsPath}`, { headers });
        const text = await res.text();
        if (res.ok) assert.match(text, /run\.finished/);
        return res.status;
      },
    },
    'AG-UI (@ag-ui/client HttpAgent)': {
      path: () => '/v1/ag-ui/agents/assistant/runs',
      call: async (headers) => {
        const agent = new HttpAgent({ url: `${app.url}/v1/ag-ui/agents/assistant/runs`, threadId: `agui-${randomUUID()}`, headers });
        agent.addMessage({ id: randomUUID(), role: 'user', content: 'hi' });
        try {
          await agent.runAgent();
          return 200;
        } catch (err) {
          return (err as { status?: number }).status;
        }
      },
    },
    'AI SDK (DefaultChatTransport)': {
      path: () => '/v1/ai-sdk/agents/assistant/runs',
      call: async (headers) => {
        let status: number | undefined;
        const transport = new DefaultChatTransport<UIMessage>({
          api: `${app.url}/v1/ai-sdk/agents/assistant/runs`,
          headers,
          fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
            const res = await fetch(input, init);
            status = res.status;
            return res;
          }) as typeof fetch,
        });
        try {
          const stream = await transport.sendMessages({
            chatId: `chat-${randomUUID()}`,
            messages: [{ id: randomUUID(), role: 'user', parts: [{ type: 'text', text: 'hi' }] }],
            trigger: 'submit-message',
            messageId: undefined,
            abortSignal: undefined,
          });
          for await (const _ of readUIMessageStream({ stream, terminateOnError: true }));
        } catch {
          /* the status tells */
        }
        return status;
      },
    },
    'A2A (@a2a-js/sdk client)': {
      path: () => '/v1/a2a',
      call: async (headers) => {
        const statuses: number[] = [];
        const authFetch: typeof fetch = async (input, init) => {
          const h = new globalThis.Headers(init?.headers);
          for (const [k, v] of Object.entries(headers)) h.set(k, v);
          const res = await fetch(input, { ...init, headers: h });
          statuses.push(res.status);
          return res;
        };
        const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { transports: [new JsonRpcTransportFactory({ fetchImpl: authFetch })] }));
        // The card is public: resolving it needs no credential.
        const client = await factory.createFromUrl(app.url);
        try {
          await client.sendMessage(send(message('hi')));
        } catch {
          /* the status tells */
        }
        return statuses.at(-1);
      },
    },
  };

  for (const [surface, s] of Object.entries(surfaces)) {
    it(`${surface}: 401 without or with a bad credential; env key, keys-file key, HS256 and RS256 JWTs get in as their principal`, async () => {
      for (const c of creds) {
        const status = await s.call(c.headers());
        if (!c.principal) expect401(status, `${c.name} → 401`);
        else {
          assert.equal(status, 200, `${c.name} → 200`);
          assert.equal(loggedPrincipal(s.path()), c.principal, `${c.name}: the request log names the principal`);
        }
      }
    });
  }

  describe('bad credentials are 401 JSON, and nothing is stored', () => {
    const bad: Array<[string, () => Promise<Headers>]> = [
      ['Authorization without a scheme', async () => ({ authorization: ENV_KEY })],
      ['Basic instead of Bearer', async () => ({ authorization: `Basic ${Buffer.from(`u:${ENV_KEY}`).toString('base64')}` })],
      ['an empty Bearer', async () => ({ authorization: 'Bearer ' })],
      ['two tokens', async () => ({ authorization: `Bearer ${ENV_KEY} ${ENV_KEY}` })],
      ['a bearer and a different x-api-key', async () => ({ authorization: `Bearer ${ENV_KEY}`, 'x-api-key': FILE_KEY })],
      ['alg none', async () => ({ authorization: `Bearer ${unsigned({ sub: 'evil', iss: ISSUER, aud: AUDIENCE })}` })],
      ['an expired JWT', async () => ({ authorization: `Bearer ${await signHs256(SECRET, { sub: 'u' }, { issuer: ISSUER, audience: AUDIENCE, expiresIn: Math.floor(Date.now() / 1000) - 3600 })}` })],
      ['a JWT for another audience', async () => ({ authorization: `Bearer ${await jwks.sign({ sub: 'u' }, { issuer: ISSUER, audience: 'someone-else' })}` })],
      ['a JWT from another issuer', async () => ({ authorization: `Bearer ${await jwks.sign({ sub: 'u' }, { issuer: 'https://evil.test', audience: AUDIENCE })}` })],
      ['a JWT with an unknown kid', async () => ({ authorization: `Bearer ${await jwks.sign({ sub: 'u' }, { kid: 'k2', issuer: ISSUER, audience: AUDIENCE })}` })],
      ['an HS256 JWT with the wrong secret', async () => ({ authorization: `Bearer ${await signHs256(randomBytes(32).toString('hex'), { sub: 'u' }, { issuer: ISSUER, audience: AUDIENCE })}` })],
      ['a JWT without exp', async () => ({ authorization: `Bearer ${await noExp()}` })],
      ['a 10 kB Authorization header', async () => ({ authorization: `Bearer ${'a'.repeat(10_240)}` })],
      ['a 10 kB x-api-key header', async () => ({ 'x-api-key': 'a'.repeat(10_240) })],
    ];
    const noExp = async () => {
      const { SignJWT } = await import('jose');
      return new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setAudience(AUDIENCE).sign(new TextEncoder().encode(SECRET));
    };

    it('each one on POST /v1/run: 401 unauthorized with WWW-Authenticate: Bearer, no stack, no thread, no model call', async () => {
      const threadsBefore = (await readJson(await fetch(`${app.url}/v1/threads?limit=100`, { headers: admin }))).body.items.length;
      const modelCalls = app.fake.requests.length;
      for (const [what, headers] of bad) {
        const h = await headers();
        const res = await fetch(`${app.url}/v1/run`, { method: 'POST', headers: { ...h, 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'must not run', session_id: `bad-${randomUUID()}` }) });
        const body = await readJson(res);
        assertError(body, 401, 'unauthorized');
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm=/, what);
        assert.equal(body.body.stack, undefined, what);
        for (const v of Object.values(h)) {
          const secret = v.split(' ').at(-1)!;
          if (secret.length > 8) assert.ok(!JSON.stringify(body.body).includes(secret), `${what}: the credential is not echoed`);
        }
      }
      assert.equal((await readJson(await fetch(`${app.url}/v1/threads?limit=100`, { headers: admin }))).body.items.length, threadsBefore, 'no thread stored');
      assert.equal(app.fake.requests.length, modelCalls, 'no model call');
    });
  });

  describe('stream tokens', () => {
    const streamToken = async (headers: Headers) => readJson(await fetch(`${app.url}/v1/auth/stream-token`, { method: 'POST', headers }));

    it('POST /v1/auth/stream-token needs a credential and returns a short-lived token', async () => {
      assertError(await streamToken({}), 401, 'unauthorized');
      const res = await streamToken(admin);
      assert.equal(res.status, 200);
      assert.equal(typeof res.body.token, 'string');
      const ttl = Date.parse(res.body.expires_at) - Date.now();
      assert.ok(ttl > 60_000 && ttl <= 300_000, `expires in a few minutes (${ttl} ms)`);
      assert.equal(res.headers.get('cache-control'), 'no-store');
    });

    it('is accepted as ?access_token= on GET event streams only, as the principal it was issued to', async () => {
      const { token } = (await streamToken({ 'x-api-key': FILE_KEY })).body;
      const q = `access_token=${encodeURIComponent(token)}`;
      // A run of alice's own (runs are visible to their owner).
      const mine = await readJson(await fetch(`${app.url}/v1/run`, { method: 'POST', headers: { 'x-api-key': FILE_KEY, 'content-type': 'application/json' }, body: '{"prompt":"mine"}' }));
      const events = await fetch(`${app.url}/v1/runs/${mine.body.run_id}/events?${q}`);
      assert.equal(events.status, 200);
      assert.match(await events.text(), /run\.finished/);
      assert.equal(loggedPrincipal(`/v1/runs/${mine.body.run_id}/events`), 'alice');
      // The AI SDK resume stream: 204 (no active run) once authenticated.
      assert.equal((await fetch(`${app.url}/v1/ai-sdk/agents/assistant/chats/nochat/stream?${q}`)).status, 204);
      // Not on other routes or methods, and never as a bearer.
      assertError(await readJson(await fetch(`${app.url}/v1/threads?${q}`)), 401, 'unauthorized');
      assertError(await readJson(await fetch(`${app.url}/v1/run?${q}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"prompt":"x"}' })), 401, 'unauthorized');
      assertError(await readJson(await fetch(`${app.url}/trpc/threads.list?${q}`)), 401, 'unauthorized');
      assertError(await readJson(await fetch(`${app.url}/v1/threads`, { headers: { authorization: `Bearer ${token}` } })), 401, 'unauthorized');
      // A forged or tampered token.
      assertError(await readJson(await fetch(`${app.url}/v1/runs/${runId}/events?access_token=${token.slice(0, -4)}AAAA`)), 401, 'unauthorized');
    });

    it('a tRPC subscription over EventSource (no headers) with a fresh token per connection', async () => {
      let issued = 0;
      const url = async () => {
        issued++;
        const { token } = (await streamToken(admin)).body;
        return `${app.url}/trpc?access_token=${encodeURIComponent(token)}`;
      };
      const trpc = createTRPCClient<AppRouter>({ links: [httpSubscriptionLink({ url, EventSource })] });
      const types: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const sub = trpc.runs.events.subscribe(
          { id: runId },
          {
            onData: (d) => {
              types.push(d.data.type);
              if (d.data.type === 'run.finished') {
                sub.unsubscribe();
                resolve();
              }
            },
            onError: reject,
          },
        );
      });
      assert.equal(types[0], 'run.started');
      assert.ok(issued >= 1);
      assert.equal(loggedPrincipal('/trpc/runs.events'), ENV_KEY_ID);

      // Without a token the subscription's GET is refused (401 before any event).
      const bare = await fetch(`${app.url}/trpc/runs.events?input=${encodeURIComponent(JSON.stringify({ id: runId }))}`, { headers: { accept: 'text/event-stream' } });
      assertError(await readJson(bare), 401, 'unauthorized');
    });
  });

  describe('public routes answer without credentials', () => {
    it('/health, /ready, /openapi.json, /docs and the agent cards', async () => {
      for (const path of ['/health', '/ready', '/openapi.json', '/docs/', '/.well-known/agent-card.json', '/v1/a2a/.well-known/agent-card.json', '/v1/a2a/agents/assistant/.well-known/agent-card.json']) {
        const res = await fetch(`${app.url}${path}`);
        assert.equal(res.status, 200, path);
        await res.arrayBuffer();
      }
      assert.deepEqual((await readJson(await fetch(`${app.url}/ready`))).body, { status: 'ready' });
    });

    it('the agent card declares the bearer and x-api-key schemes', async () => {
      const card = (await readJson(await fetch(`${app.url}/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } }))).body;
      const text = JSON.stringify(card);
      assert.match(text, /x-api-key/);
      assert.match(text, /[Bb]earer/);
    });

    it('a forged Host header does not steer the card URLs', async () => {
      const { request } = await import('node:http');
      const body = await new Promise<string>((resolve, reject) => {
        const u = new URL(`${app.url}/.well-known/agent-card.json`);
        request({ host: u.hostname, port: u.port, path: u.pathname, headers: { host: 'evil.example:666' } }, (res) => {
          let s = '';
          res.on('data', (c) => (s += c));
          res.on('end', () => resolve(s));
        })
          .on('error', reject)
          .end();
      });
      assert.ok(!body.includes('evil.example'), body.slice(0, 300));
      assert.ok(body.includes(new URL(app.url).host), 'the card names the listen address');
    });

    it('the OpenAPI document declares both schemes, a global requirement, and opts the public routes out', async () => {
      const doc = (await readJson(await fetch(`${app.url}/openapi.json`))).body;
      assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['apiKey', 'bearer']);
      assert.deepEqual(doc.security, [{ bearer: [] }, { apiKey: [] }]);
      assert.deepEqual(doc.paths['/health'].get.security, []);
      assert.equal(doc.paths['/v1/threads'].get.security, undefined);
      assert.ok(doc.paths['/v1/threads'].get.responses['401']);
    });
  });
});
