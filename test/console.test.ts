/** The web console at /console in headless Chromium, against the real server and the fake model. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import express from 'express';
import { pino } from 'pino';
import { CONSOLE_DIST, consoleRoutes } from '../src/http/console-routes.js';
import { errorHandler } from '../src/http/errors.js';
import { startFakeAnthropic, type FakeAnthropic } from './fixtures/fake-anthropic.js';
import { waitFor } from './helpers/http.js';
import { startTestServer } from './helpers/server.js';
import { useServer } from './helpers/setup.js';

/** Launched as in swagger-ui.test.ts; without Chromium the test skips and says why. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const noBrowser = existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
if (noBrowser) console.log(`# console test skipped: ${noBrowser}`);

const AGENTS = {
  agents: {
    assistant: { name: 'Assistant', system: 'You help.', tools: ['current_time'] },
    approver: { name: 'Approver', system: 'Ask first.', tools: { current_time: 'ask', write_file: 'deny' } },
  },
};

/** CONSOLE_SCREENSHOTS=1: a PNG of each screen in a temp dir of this test (its path is printed). */
const shotsDir = process.env.CONSOLE_SCREENSHOTS ? mkdtempSync(join(tmpdir(), 'console-screens-')) : undefined;
if (shotsDir) console.log(`# console screenshots in ${shotsDir}`);
const shot = async (page: Page, name: string) => {
  if (shotsDir) await page.screenshot({ path: join(shotsDir, `${name}.png`), fullPage: true });
};

/** The build is part of npm install; a checkout that has not run it gets one here. */
function ensureBuilt(): void {
  if (existsSync(join(CONSOLE_DIST, 'index.html'))) return;
  execFileSync('npm', ['run', '--silent', 'build:console'], { stdio: 'inherit' });
}

interface Tab {
  page: Page;
  context: BrowserContext;
  /** Page errors and console errors, checked to be none at the end of every test. */
  errors: string[];
  urls: string[];
}

async function openTab(browser: Browser, url: string): Promise<Tab> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  const urls: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()} @ ${m.location().url}`);
  });
  page.on('request', (r) => urls.push(r.url()));
  await page.goto(url);
  return { page, context, errors, urls };
}

/** The main navigation's links, by their exact accessible names. */
const nav = (page: Page, name: 'Chat' | 'Threads' | 'Runs' | 'Agents') => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
const messageBox = (page: Page) => page.getByRole('textbox', { name: 'Message' });
const agentMessages = (page: Page) => page.getByRole('listitem', { name: 'Agent' });
const chatIdOf = (page: Page) => decodeURIComponent(new URL(page.url()).pathname.split('/')[3]);

async function send(page: Page, text: string): Promise<void> {
  await messageBox(page).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

describe('console routes without a build', () => {
  it('answer a JSON 503 that says how to build it', async () => {
    const app = express().use(consoleRoutes(join(tmpdir(), `no-console-${randomBytes(4).toString('hex')}`))).use(errorHandler(pino({ level: 'silent' }), true));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/console/chat`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(res.status, 503);
      const body = await res.json();
      assert.equal(body.code, 'unavailable');
      assert.match(body.error, /npm run build:console/);
    } finally {
      server.close();
    }
  });
});

describe('web console at /console (headless Chromium)', { skip: noBrowser }, () => {
  // Prices make the timeline's cost estimate a number: (20 × 3 + 8 × 15) / 1e6 USD for the tool run.
  const app = useServer({ agents: AGENTS, env: { AGENTSDK_MODEL_PRICES: JSON.stringify({ 'claude-sonnet-5-5': { input: 3, output: 15 } }) } });
  let browser: Browser;
  const tabs: Tab[] = [];
  /** Threads made by the chat tests, for the later ones. */
  const made: { chat?: string; tool?: string } = {};

  before(async () => {
    ensureBuilt();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true, timeout: 30_000 });
  });
  after(async () => {
    await browser?.close();
  });
  const tab = async (path = '/') => {
    const t = await openTab(browser, `${app.url}${path}`);
    tabs.push(t);
    return t;
  };
  const done = async (t: Tab) => {
    assert.deepEqual(t.errors, [], 'no page or console errors');
    await t.context.close();
  };

  it('GET / redirects to the console; the page has a strict CSP and no inline script', async () => {
    const root = await fetch(`${app.url}/`, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/console/');
    const page = await fetch(`${app.url}/console/threads/some-thread`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(page.status, 200, 'client routes get the page');
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const html = await page.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'every script has a src');
    assert.doesNotMatch(html, /https?:\/\//, 'nothing from another origin');
    const missing = await fetch(`${app.url}/console/assets/nope.js`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).code, 'not_found');
  });

  it('Chat: sends a message and shows the answer as it streams', async () => {
    const answer = 'The quick brown fox jumps over the lazy dog while the console streams every word.';
    app.fake.enqueue({ content: [{ type: 'text', text: answer }], chunkDelayMs: 40 });
    const t = await tab('/');
    await t.page.waitForURL(/\/console\/chat\/chat-/);
    for (const name of ['Chat', 'Threads', 'Runs', 'Agents'] as const) assert.equal(await nav(t.page, name).count(), 1, name);
    await send(t.page, 'Say something');
    const reply = agentMessages(t.page).last();
    // Streaming: part of the answer is on screen before the rest has arrived.
    await t.page.waitForFunction(
      (full) => {
        const items = [...document.querySelectorAll('li[aria-label="Agent"] .text')];
        const text = items.at(-1)?.textContent ?? '';
        return text.length > 0 && text.length < full.length;
      },
      answer,
      { timeout: 10_000 },
    );
    await reply.getByText(answer).waitFor({ timeout: 10_000 });
    await t.page.getByRole('listitem', { name: 'You' }).getByText('Say something').waitFor();
    made.chat = chatIdOf(t.page);
    await shot(t.page, 'chat');
    await done(t);
  });

  it('Chat: a tool call card shows its input and output', async () => {
    app.fake.enqueue(
      { content: [{ type: 'text', text: 'Let me check.' }, { type: 'tool_use', id: 'toolu_console_1', name: 'current_time', input: { timezone: 'Europe/Paris' } }] },
      { content: [{ type: 'text', text: 'It is evening in Paris.' }] },
    );
    const t = await tab('/console/chat');
    await send(t.page, 'Time in Paris?');
    await agentMessages(t.page).last().getByText('It is evening in Paris.').waitFor({ timeout: 10_000 });
    const card = t.page.getByRole('article', { name: 'Tool call current_time' });
    assert.match(await card.getByLabel('current_time input').innerText(), /"timezone": "Europe\/Paris"/);
    const output = JSON.parse(await card.getByLabel('current_time output').innerText());
    assert.equal(output.timezone, 'Europe/Paris');
    assert.ok(!Number.isNaN(Date.parse(output.utc)), 'the real tool output');
    made.tool = chatIdOf(t.page);
    await shot(t.page, 'chat-tool');
    await done(t);
  });

  it('Chat: an approval-pending call is approved and the run goes on to its answer', async () => {
    app.fake.enqueue({ content: [{ type: 'tool_use', id: 'toolu_console_ask', name: 'current_time', input: {} }] }, { content: [{ type: 'text', text: 'It is noon, approved.' }] });
    const t = await tab('/console/chat?agent=approver');
    await send(t.page, 'What time is it?');
    const approve = t.page.getByRole('button', { name: 'Approve' });
    await approve.waitFor({ timeout: 10_000 });
    await t.page.getByRole('button', { name: 'Deny' }).waitFor();
    await shot(t.page, 'chat-approval');
    assert.equal(app.fake.requests.length, 1, 'the tool waits for the decision');
    await approve.click();
    await agentMessages(t.page).last().getByText('It is noon, approved.').waitFor({ timeout: 10_000 });
    assert.equal(await agentMessages(t.page).count(), 1, 'one assistant message across the pause');
    assert.ok(!app.fake.requests[1].body.messages.at(-1).content[0].is_error, 'the tool ran');
    assert.equal(await t.page.getByRole('button', { name: 'Approve' }).count(), 0);
    await done(t);
  });

  it('Chat: Deny with a reason tells the model why', async () => {
    app.fake.enqueue({ content: [{ type: 'tool_use', id: 'toolu_console_deny', name: 'current_time', input: {} }] }, { content: [{ type: 'text', text: 'Fine, no clock.' }] });
    const t = await tab('/console/chat?agent=approver');
    await send(t.page, 'Clock?');
    await t.page.getByRole('button', { name: 'Deny' }).waitFor({ timeout: 10_000 });
    await t.page.getByRole('textbox', { name: 'Reason' }).fill('not today');
    await t.page.getByRole('button', { name: 'Deny' }).click();
    await agentMessages(t.page).last().getByText('Fine, no clock.').waitFor({ timeout: 10_000 });
    const seen = app.fake.requests[1].body.messages.at(-1).content[0];
    assert.deepEqual([seen.is_error, seen.content], [true, 'The user denied this tool call: not today']);
    await agentMessages(t.page).last().getByText('Denied: not today').waitFor();
    await done(t);
  });

  it('Chat: a failed run shows its error', async () => {
    app.fake.enqueue({ error: { status: 400, type: 'invalid_request_error', message: 'the fake model refuses' } });
    const t = await tab('/console/chat');
    await send(t.page, 'Fail please');
    const alert = t.page.getByRole('alert').first();
    await alert.waitFor({ timeout: 10_000 });
    assert.match(await t.page.getByRole('alert').allInnerTexts().then((a) => a.join('\n')), /the fake model refuses/);
    await shot(t.page, 'chat-error');
    await done(t);
  });

  it('Chat: a reload mid-answer resumes, and the answer shows once and whole', async () => {
    const answer = Array.from({ length: 24 }, (_, i) => `word${i}`).join(' ');
    app.fake.enqueue({ content: [{ type: 'text', text: answer }], chunkDelayMs: 80 });
    const t = await tab('/console/chat');
    await send(t.page, 'A long answer please');
    await agentMessages(t.page).last().getByText(/word3/).waitFor({ timeout: 10_000 });
    assert.ok(!(await agentMessages(t.page).last().innerText()).includes('word23'), 'reloaded before the end');
    await t.page.reload();
    await agentMessages(t.page).last().getByText(answer).waitFor({ timeout: 15_000 });
    assert.equal(await agentMessages(t.page).count(), 1);
    const all = await t.page.getByRole('list', { name: 'Messages' }).innerText();
    assert.equal(all.split('word23').length - 1, 1, 'the answer once');
    assert.equal(all.split('word0 ').length - 1, 1);
    assert.equal(await t.page.getByRole('listitem', { name: 'You' }).count(), 1);
    assert.equal(app.fake.requests.length, 1, 'the run was resumed, not started again');
    await done(t);
  });

  it('Threads: the new thread is listed; open, rename and delete it', async () => {
    const id = made.chat!;
    assert.ok(id, 'the chat test made a thread');
    const t = await tab('/console/chat');
    await nav(t.page, 'Threads').click();
    const row = t.page.getByRole('link', { name: id, exact: true });
    await row.waitFor({ timeout: 10_000 });
    // Newest first: the reload test's thread was made after this one.
    const links = await t.page.locator('tbody tr td:first-child a').allInnerTexts();
    assert.ok(links.indexOf(id) > 0, `listed after newer threads: ${links.join(', ')}`);
    await shot(t.page, 'threads');
    await row.click();
    await t.page.getByRole('list', { name: 'Messages' }).getByText('Say something').waitFor({ timeout: 10_000 });
    await t.page.getByText('The quick brown fox').waitFor();

    await t.page.getByRole('textbox', { name: 'Title' }).fill('Console test thread');
    await t.page.getByRole('button', { name: 'Rename' }).click();
    await t.page.getByRole('heading', { name: 'Console test thread' }).waitFor({ timeout: 10_000 });
    assert.equal((await (await fetch(`${app.url}/v1/threads/${id}`, { signal: AbortSignal.timeout(10_000) })).json()).title, 'Console test thread');
    await shot(t.page, 'thread');

    await nav(t.page, 'Threads').click();
    // The server does the search (title=…), so threads not loaded yet are found too.
    const searched = t.page.waitForResponse((r) => r.url().includes('/v1/threads/summaries') && new URL(r.url()).searchParams.get('title') === 'console TEST');
    await t.page.getByRole('searchbox', { name: 'Search titles' }).fill('console TEST');
    assert.equal((await searched).status(), 200);
    await t.page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1, undefined, { timeout: 10_000 });
    await t.page.getByRole('link', { name: 'Console test thread' }).waitFor();
    await t.page.getByRole('link', { name: 'Console test thread' }).click();

    await t.page.getByRole('button', { name: 'Delete' }).click();
    await t.page.getByRole('button', { name: 'Yes, delete' }).click();
    await t.page.waitForURL(/\/console\/threads$/);
    await t.page.getByRole('link', { name: made.tool!, exact: true }).waitFor({ timeout: 10_000 });
    assert.equal(await t.page.getByRole('link', { name: id, exact: true }).count(), 0);
    assert.equal((await fetch(`${app.url}/v1/threads/${id}`, { signal: AbortSignal.timeout(10_000) })).status, 404);
    await done(t);
  });

  it('Runs: the list filters, and a run timeline shows the model calls and the tool call with durations and tokens', async () => {
    const { items } = await (await fetch(`${app.url}/v1/runs?thread_id=${made.tool}`, { signal: AbortSignal.timeout(10_000) })).json();
    assert.equal(items.length, 1);
    const runId = items[0].id;
    const t = await tab('/console/chat');
    await nav(t.page, 'Runs').click();
    await t.page.getByRole('link', { name: runId }).waitFor({ timeout: 10_000 });
    await t.page.getByRole('combobox', { name: 'Agent' }).selectOption('approver');
    await t.page.waitForURL(/agent_id=approver/);
    await t.page.getByRole('link', { name: runId }).waitFor({ state: 'detached', timeout: 10_000 });
    assert.ok((await t.page.locator('tbody tr').count()) >= 2, 'the two approver runs');
    await t.page.getByRole('combobox', { name: 'Agent' }).selectOption('');
    await t.page.getByRole('combobox', { name: 'Status' }).selectOption('completed');
    await t.page.getByRole('link', { name: runId }).click();

    const timeline = t.page.getByRole('list', { name: 'Timeline' });
    const model = timeline.getByRole('listitem', { name: 'Model call 1' });
    await model.waitFor({ timeout: 10_000 });
    const first = await model.innerText();
    assert.match(first, /duration \d+(\.\d+)? m?s/);
    assert.match(first, /time to first token \d+(\.\d+)? m?s/);
    assert.match(first, /in 10 · out 3 · cached 0 read \/ 0 written/);
    const tool = await timeline.getByRole('listitem', { name: 'Tool call current_time' }).innerText();
    assert.match(tool, /duration \d+ ms/);
    assert.match(tool, /ok/);
    const second = await timeline.getByRole('listitem', { name: 'Model call 2' }).innerText();
    assert.match(second, /in 10 · out 5 /);
    assert.match(await t.page.getByLabel('Run tokens').innerText(), /in 20 · out 8 /);
    await t.page.getByText('Finished: completed').waitFor();
    assert.equal(await t.page.getByLabel('Estimated cost').innerText(), '$0.000180');
    await shot(t.page, 'run-timeline');
    await done(t);
  });

  it('Runs: the timeline of an active run is live', async () => {
    const words = Array.from({ length: 15 }, (_, i) => `tick${i}`).join(' ');
    app.fake.enqueue({ content: [{ type: 'text', text: words }], chunkDelayMs: 80 });
    const res = await fetch(`${app.url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'tick' }), signal: AbortSignal.timeout(20_000) });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    const runId = /"run_id":"([^"]+)"/.exec(first)![1];
    const t = await tab(`/console/runs/${runId}`);
    await t.page.getByText('live', { exact: true }).waitFor({ timeout: 10_000 });
    await t.page.getByText('streaming…').waitFor();
    await t.page.getByText('Finished: completed').waitFor({ timeout: 10_000 });
    await t.page.getByText('live', { exact: true }).waitFor({ state: 'detached' });
    assert.match(await t.page.getByRole('listitem', { name: 'Model call 1' }).innerText(), /out 15 /);
    await reader.cancel();
    await done(t);
  });

  it('Agents: model, tools with policies, MCP servers', async () => {
    const t = await tab('/console/agents');
    const approver = t.page.getByRole('article', { name: 'Agent approver' });
    await approver.waitFor({ timeout: 10_000 });
    const text = await approver.innerText();
    assert.match(text, /claude-sonnet-5-5/);
    assert.match(text, /current_time\s+ask/);
    assert.match(text, /write_file\s+deny/);
    assert.match(await t.page.getByRole('article', { name: 'Agent assistant' }).innerText(), /current_time\s+allow/);
    await shot(t.page, 'agents');
    await done(t);
  });

  it('every page load came from this server only', () => {
    const origin = new URL(app.url).origin;
    const foreign = tabs.flatMap((t) => t.urls).filter((u) => !u.startsWith(origin) && !u.startsWith('data:'));
    assert.deepEqual(foreign, []);
  });
});

describe('web console with an API key required (headless Chromium)', { skip: noBrowser }, () => {
  const KEY = `console-${randomBytes(16).toString('hex')}`;
  let fake: FakeAnthropic;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let browser: Browser;

  before(async () => {
    ensureBuilt();
    fake = await startFakeAnthropic();
    server = await startTestServer({ modelUrl: fake.url, env: { AGENTSDK_API_KEYS: KEY } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true, timeout: 30_000 });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await fake?.close();
  });

  it('asks for the key, keeps it in session storage only, sends it as a header, and then works', async () => {
    const t = await openTab(browser, `${server.url}/`);
    const keyBox = t.page.getByLabel('API key or JWT');
    await keyBox.waitFor({ timeout: 10_000 });
    await shot(t.page, 'signin');
    await keyBox.fill('not-the-key');
    await t.page.getByRole('button', { name: 'Sign in' }).click();
    await t.page.getByText('The server did not accept this credential.').waitFor({ timeout: 10_000 });
    await keyBox.fill(KEY);
    await t.page.getByRole('button', { name: 'Sign in' }).click();

    fake.enqueue({ content: [{ type: 'text', text: 'Authenticated hello.' }] });
    await messageBox(t.page).waitFor({ timeout: 10_000 });
    await send(t.page, 'hi');
    await agentMessages(t.page).last().getByText('Authenticated hello.').waitFor({ timeout: 10_000 });
    const id = chatIdOf(t.page);
    await waitFor(async () => (await server.store.runs.latestActive(id)) === undefined, 10_000, 'the run to be stored');
    await nav(t.page, 'Runs').click();
    await t.page.locator('tbody tr a').first().click();
    await t.page.getByText('Finished: completed').waitFor({ timeout: 10_000 });

    const storage = await t.page.evaluate(() => ({ session: Object.values(sessionStorage), local: Object.keys(localStorage).length }));
    assert.deepEqual(storage, { session: [KEY], local: 0 });
    assert.deepEqual(t.urls.filter((u) => u.includes(KEY) || u.includes('access_token')), [], 'the key is never in a URL');
    assert.deepEqual(
      await t.context.cookies(),
      [],
      'no cookies either',
    );
    // The two refusals that lead to the sign-in form (no key, then a wrong one) are the only errors.
    const refusals = t.errors.filter((e) => /status of 401 \(Unauthorized\) @ .*\/v1\/agents$/.test(e));
    assert.ok(refusals.length <= 2, refusals.join('\n'));
    assert.deepEqual(t.errors.filter((e) => !refusals.includes(e)), []);
    await t.context.close();
  });
});
