import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { dialects } from './helpers/databases.js';
import { waitFor } from './helpers/http.js';
import { useServer } from './helpers/setup.js';

/** Launched as in swagger-ui.test.ts; without Chromium the test skips and says why. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const noBrowser = existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
if (noBrowser) console.log(`# CORS browser test skipped: ${noBrowser}`);

const KEY = randomBytes(16).toString('hex');
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The page's code: the official clients, bundled for the browser. Each function resolves to the answer text or throws. */
const ENTRY = `
import { DefaultChatTransport } from 'ai';
import { HttpAgent } from '@ag-ui/client';
import { TestChat, textOf } from './test/helpers/ai-chat.ts';

window.runAiSdk = async (server, key, chatId) => {
  const transport = new DefaultChatTransport({ api: server + '/v1/ai-sdk/agents/assistant/runs', headers: { authorization: 'Bearer ' + key } });
  const chat = new TestChat({ id: chatId, transport });
  await chat.sendMessage({ text: 'hi' });
  if (chat.error) throw chat.error;
  return textOf(chat.messages.at(-1));
};

window.runAgUi = async (server, key, threadId) => {
  const agent = new HttpAgent({ url: server + '/v1/ag-ui/agents/assistant/runs', threadId, headers: { authorization: 'Bearer ' + key } });
  agent.addMessage({ id: 'u-' + threadId, role: 'user', content: 'hi' });
  const { newMessages } = await agent.runAgent();
  return newMessages.filter((m) => m.role === 'assistant').map((m) => m.content).join('');
};
`;

let bundle: Promise<string> | undefined;
const bundled = () =>
  (bundle ??= build({
    stdin: { contents: ENTRY, resolveDir: ROOT, loader: 'ts', sourcefile: 'page.ts' },
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    define: { 'process.env.NODE_ENV': '"production"' },
    mainFields: ['browser', 'module', 'main'],
    conditions: ['browser'],
    logLevel: 'silent',
  }).then((r) => r.outputFiles[0].text));

let browser: Promise<Browser> | undefined;
const launched = () => (browser ??= chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true, timeout: 30_000 }));
after(async () => void (await (await browser)?.close()));

/** A static origin: `/` is an HTML page loading `/app.js` (the bundle). */
async function pageServer(js: string): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>cors</title><script src="/app.js"></script>');
    else if (req.url === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(js);
    else res.writeHead(req.url === '/favicon.ico' ? 204 : 404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A preflight as the browser sends it before the clients' POST. */
const preflight = (url: string, origin: string) =>
  new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
    const u = new URL(url);
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } },
      (res) => res.resume().on('end', () => resolve(res.headers)),
    );
    req.on('error', reject).end();
  });

for (const dialect of dialects()) describe(`CORS from real browser pages, official clients (headless Chromium) [${dialect}]`, { skip: noBrowser }, () => {
  let allowed: { server: Server; origin: string };
  let other: { server: Server; origin: string };
  const app = useServer({
    dialect,
    prepare: async () => {
      const js = await bundled();
      [allowed, other] = await Promise.all([pageServer(js), pageServer(js)]);
      return { env: { AGENTSDK_API_KEYS: KEY, AGENTSDK_CORS_ORIGINS: allowed.origin } };
    },
  });
  after(async () => {
    for (const s of [allowed, other]) {
      s?.server.closeAllConnections();
      if (s) await new Promise((r) => s.server.close(r));
    }
  });
  before(async () => void (await launched()));

  const runsOf = (threadId: string) => app.server.store.db.kysely.selectFrom('runs').select(['id', 'status']).where('thread_id', '=', threadId).execute();
  const allRuns = async () => (await app.server.store.db.kysely.selectFrom('runs').select('id').execute()).length;

  /** Opens `origin`'s page; console errors are printed only when `fn` fails. */
  async function onPage<T>(origin: string, fn: (page: Page) => Promise<T>): Promise<T> {
    const page = await (await launched()).newPage();
    const errors: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    try {
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => typeof (window as any).runAgUi === 'function', undefined, { timeout: 10_000 });
      return await fn(page);
    } catch (err) {
      console.log(`# console errors on ${origin}:\n${errors.map((e) => `#   ${e}`).join('\n') || '#   (none)'}`);
      throw err;
    } finally {
      await page.close();
    }
  }
  /** Calls `window[fn](server, key, id)` in the page: `{ text }` or `{ error }` (the thrown error as a string). */
  const call = (page: Page, fn: 'runAiSdk' | 'runAgUi', key: string, id: string) =>
    page.evaluate(
      async ([fn, server, key, id]) => {
        try {
          return { text: (await (window as any)[fn](server, key, id)) as string };
        } catch (e) {
          return { error: String(e) };
        }
      },
      [fn, app.url, key, id] as const,
    );

  it('preflights from Node: the allowed origin gets allow-origin and authorization, the other none', async () => {
    for (const path of ['/v1/ai-sdk/agents/assistant/runs', '/v1/ag-ui/agents/assistant/runs']) {
      const ok = await preflight(`${app.url}${path}`, allowed.origin);
      assert.equal(ok['access-control-allow-origin'], allowed.origin, path);
      assert.ok(String(ok['access-control-allow-headers']).split(',').includes('authorization'), `${path}: ${ok['access-control-allow-headers']}`);
      const no = await preflight(`${app.url}${path}`, other.origin);
      assert.equal(no['access-control-allow-origin'], undefined, path);
      assert.equal(no['access-control-allow-headers'], undefined, path);
    }
  });

  it('from the allowed origin, the AI SDK chat and the AG-UI HttpAgent both get the scripted answer', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'Hello from the AI SDK route.' }] }, { content: [{ type: 'text', text: 'Hello from the AG-UI route.' }] });
    const chatId = `cors-chat-${randomUUID()}`;
    const threadId = `cors-agui-${randomUUID()}`;
    await onPage(allowed.origin, async (page) => {
      assert.deepEqual(await call(page, 'runAiSdk', KEY, chatId), { text: 'Hello from the AI SDK route.' });
      assert.deepEqual(await call(page, 'runAgUi', KEY, threadId), { text: 'Hello from the AG-UI route.' });
      // The key is checked: with a wrong one the page reads the 401 (its CORS headers let it).
      const wrong = await call(page, 'runAgUi', 'x'.repeat(32), `cors-wrong-${randomUUID()}`);
      assert.match(String(wrong.error), /401/);
    });
    assert.equal(app.fake.requests.length, 2);
    for (const id of [chatId, threadId]) {
      const runs = await waitFor(async () => {
        const r = await runsOf(id);
        return r.length === 1 && r[0].status === 'completed' ? r : undefined;
      }, 10_000, `the run of ${id} to be completed`);
      assert.equal(runs.length, 1);
    }
  });

  it('from another origin, both clients fail in the browser and no run is stored', async () => {
    const before = await allRuns();
    const chatId = `cors-chat-${randomUUID()}`;
    const threadId = `cors-agui-${randomUUID()}`;
    await onPage(other.origin, async (page) => {
      for (const [fn, id] of [['runAiSdk', chatId], ['runAgUi', threadId]] as const) {
        const res = await call(page, fn, KEY, id);
        assert.equal(res.text, undefined, `${fn} must not get an answer`);
        assert.match(String(res.error), /Failed to fetch|TypeError|NetworkError/i, `${fn}: ${res.error}`);
      }
    });
    assert.deepEqual(await runsOf(chatId), []);
    assert.deepEqual(await runsOf(threadId), []);
    assert.equal(await allRuns(), before, 'no run at all');
    assert.equal(app.fake.requests.length, 0, 'the model was never called');
  });
});
