/**
 * Long conversations: prompt-caching breakpoints, compaction of older turns into a stored summary,
 * `context_overflow`, and history that stays whole in the thread API. The fake model enforces a
 * context limit and simulates the prompt cache (test/fixtures/fake-anthropic.ts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { HttpAgent, type AgentSubscriber } from '@ag-ui/client';
import { ClientFactory } from '@a2a-js/sdk/client';
import { DefaultChatTransport, type UIMessage } from 'ai';
import { estimateTokens, stripCacheControl, systemText, type FakeReply, type RecordedRequest } from './fixtures/fake-anthropic.js';
import { collect, message, send } from './helpers/a2a.js';
import { TestChat } from './helpers/ai-chat.js';
import { call } from './helpers/api.js';
import { dialects } from './helpers/databases.js';
import { postJson, sseFrames, waitFor } from './helpers/http.js';
import { useServer } from './helpers/setup.js';
import { words } from './helpers/text.js';

const WINDOW = 4000;
const compactingAgent = (extra: object = {}) => ({
  system: 'You are terse.',
  tools: ['current_time'],
  context_window: WINDOW,
  max_tokens: 256,
  compaction: { threshold: 0.8, keep_recent_turns: 4 },
  ...extra,
});
const AGENTS = {
  agents: {
    assistant: compactingAgent(),
    nocache: compactingAgent({ prompt_cache: 'off' }),
    hour: compactingAgent({ cache_ttl: '1h' }),
    nocompact: compactingAgent({ compaction: 'off' }),
    // Believes in a 200k window: only the upstream's refusal tells it the thread is too long.
    trusting: { system: 'You are terse.', max_tokens: 256, compaction: { keep_recent_turns: 4 } },
  },
};

const isSummary = (body: any) => (systemText(body) ?? '').startsWith('You compact conversations');
const modelCalls = (requests: RecordedRequest[]) => requests.filter((r) => !isSummary(r.body));
const text = (m: any): string => (typeof m.content === 'string' ? m.content : m.content.map((b: any) => b.text ?? (typeof b.content === 'string' ? b.content : '')).join(' '));

for (const dialect of dialects()) describe(`long conversations [${dialect}]`, () => {
  const app = useServer({ dialect, agents: AGENTS });
  let summaries = 0;
  /** Summaries say which turns they saw; answers are 40 words. */
  const script = (answer = words(40)) =>
    app.fake.setHandler((body): FakeReply => {
      if (isSummary(body)) return { content: [{ type: 'text', text: `SUMMARY-${++summaries} of ${body.messages[0].content.length} characters` }] };
      return { content: [{ type: 'text', text: answer }] };
    });
  const limited = (limit = WINDOW) => app.fake.configure({ contextLimit: limit, cache: true, tokenUsage: true });
  const run = (prompt: string, session_id?: string, agent_id = 'assistant') => postJson(`${app.url}/v1/run`, { prompt, agent_id, ...(session_id ? { session_id } : {}) });

  describe('prompt caching', () => {
    it('puts breakpoints on the tools, the system prompt and the newest two turns, never more than 4', async () => {
      limited();
      app.fake.enqueue({ content: [{ type: 'tool_use', name: 'current_time', input: { timezone: 'UTC' } }] }, { content: [{ type: 'text', text: 'It is noon.' }] }, { content: [{ type: 'text', text: 'Bye.' }] });
      const first = await run('what time is it?');
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const second = await run('thanks', first.body.session_id);
      assert.equal(second.status, 200, JSON.stringify(second.body));
      const [a, b, c] = app.fake.requests;
      assert.deepEqual(a.breakpoints.map((p) => p.path), ['tools[0]', 'system[0]', 'messages[0].content[0]']);
      assert.deepEqual(b.breakpoints.map((p) => p.path), ['tools[0]', 'system[0]', 'messages[1].content[0]', 'messages[2].content[0]']);
      assert.deepEqual(c.breakpoints.map((p) => p.path), ['tools[0]', 'system[0]', 'messages[3].content[0]', 'messages[4].content[0]']);
      for (const r of app.fake.requests) {
        assert.ok(r.breakpoints.length <= 4);
        assert.ok(r.breakpoints.every((p) => p.ttl === '5m'));
      }
    });

    it('sends the same bytes for the same stored turns from one run to the next, so the next run reads the cache', async () => {
      limited();
      app.fake.enqueue({ content: [{ type: 'tool_use', name: 'current_time', input: { timezone: 'Europe/Paris', format: 'iso' } }] }, { content: [{ type: 'text', text: 'It is noon in Paris.' }] }, { content: [{ type: 'text', text: 'You are welcome.' }] });
      const first = await run('what time is it in Paris?');
      const second = await run('thanks', first.body.session_id);
      assert.equal(second.status, 200);
      const [, last1, next] = app.fake.requests.map((r) => JSON.parse(r.raw));
      // Up to the previous request's last breakpoint (its last message), byte for byte once markers are removed.
      const prefix = (body: any, n: number) => JSON.stringify(stripCacheControl({ tools: body.tools, system: body.system, messages: body.messages.slice(0, n) }));
      assert.equal(prefix(next, last1.messages.length), prefix(last1, last1.messages.length));
      // The stored tool call came back from the database (jsonb on PostgreSQL) in the same bytes.
      assert.ok(app.fake.requests[2].raw.includes(JSON.stringify(stripCacheControl(last1.messages[1].content[0]))));
      const runs = (await call(`${app.url}/v1/runs?thread_id=${first.body.session_id}`, 'GET')).body.items as any[];
      const secondRun = runs.find((r) => r.id === second.body.run_id);
      assert.ok(secondRun.usage.cache_read_input_tokens > 0, `run 2 reads the cache: ${JSON.stringify(secondRun.usage)}`);
      assert.ok(first.body.usage.cache_creation_input_tokens > 0);
      const thread = await call(`${app.url}/v1/threads/${first.body.session_id}`, 'GET');
      assert.equal(thread.body.usage.cache_read_input_tokens, first.body.usage.cache_read_input_tokens + second.body.usage.cache_read_input_tokens);
      assert.ok(thread.body.usage.cache_creation_input_tokens > 0);
    });

    it('prompt_cache "off" sends no cache_control at all', async () => {
      limited();
      const first = await run('hello', undefined, 'nocache');
      await run('again', first.body.session_id, 'nocache');
      assert.equal(app.fake.requests.length, 2);
      for (const r of app.fake.requests) {
        assert.deepEqual(r.breakpoints, []);
        assert.ok(!r.raw.includes('cache_control'));
        assert.equal(typeof r.body.system, 'string');
      }
    });

    it('cache_ttl "1h" marks every breakpoint 1h and sends the beta header', async () => {
      limited();
      const res = await run('hello', undefined, 'hour');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const r = app.fake.requests[0];
      assert.equal(r.breakpoints.length, 3);
      assert.ok(r.breakpoints.every((p) => p.ttl === '1h'));
      assert.match(String(r.headers['anthropic-beta']), /extended-cache-ttl-2025-04-11/);
    });
  });

  describe('compaction', () => {
    it('a 300-run thread keeps working under a small context limit; the thread API still lists every message', async () => {
      limited();
      script();
      summaries = 0;
      let session: string | undefined;
      for (let i = 0; i < 300; i++) {
        const res = await run(`question ${i}: ${words(30)}`, session);
        assert.equal(res.status, 200, `run ${i}: ${JSON.stringify(res.body)}`);
        session = res.body.session_id;
      }
      const calls = modelCalls(app.fake.requests);
      assert.equal(calls.length, 300);
      // Never refused: every request fit the limit.
      for (const r of app.fake.requests) assert.ok(estimateTokens(r.body) <= WINDOW, `a request of ${estimateTokens(r.body)} tokens`);
      const compactions = await app.server.store.context.list(session!);
      assert.ok(compactions.length >= 5, `${compactions.length} compactions`);
      assert.ok(summaries >= compactions.length, "each compaction asked for a summary");
      // What the model gets is bounded by the window, not by the thread: the summary, then the turns since.
      const last = calls.at(-1)!.body;
      assert.ok(last.messages.length < 60, `${last.messages.length} messages`);
      assert.match(text(last.messages[0]), /^The earlier part of this conversation was compacted/);
      const items: any[] = [];
      let cursor: string | null = null;
      do {
        const page = await call(`${app.url}/v1/threads/${session}/messages?limit=100${cursor ? `&after=${cursor}` : ''}`, 'GET');
        assert.equal(page.status, 200, JSON.stringify(page.body));
        items.push(...page.body.items);
        cursor = page.body.next_cursor;
      } while (cursor);
      assert.equal(items.length, 600);
      assert.match(JSON.stringify(items[0]), /question 0:/);
    });

    it('the model sees the summary and then the recent turns exactly as stored', async () => {
      limited();
      script(words(300));
      // A long first exchange, then a short prompt: the second run passes the threshold.
      const first = await run(`remember this: ${'alpha '.repeat(1900)}`);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const second = await run('and now?', first.body.session_id);
      assert.equal(second.status, 200, JSON.stringify(second.body));
      const summarising = app.fake.requests.find((r) => isSummary(r.body))!;
      assert.ok(summarising, 'a summary was asked for');
      assert.match(text(summarising.body.messages[0]), /remember this: alpha alpha/);
      const after = app.fake.requests.at(-1)!.body;
      assert.match(text(after.messages[0]), /<summary>\nSUMMARY-\d+ of \d+ characters\n<\/summary>/);
      const [compaction] = await app.server.store.context.list(first.body.session_id);
      const stored = (await app.server.store.messages.list(first.body.session_id)).filter((m) => m.position > compaction.through_position && m.run_id !== second.body.run_id || (m.run_id === second.body.run_id && m.role === 'user'));
      // Summary (merged with a kept user turn when it starts with one), then the kept turns in order.
      const sent = after.messages.flatMap((m: any) => m.content.map((b: any) => b.text));
      assert.deepEqual(sent.slice(1), stored.flatMap((m) => (m.content as any[]).map((b) => b.text)));
      assert.ok(!JSON.stringify(after).includes('alpha alpha'), 'the compacted prompt is not sent again');
      assert.equal(compaction.turns, 1);
      assert.ok(compaction.tokens_after < compaction.tokens_before);
      // Close to the threshold, the endpoint's token count decided.
      assert.ok(app.fake.tokenCounts.length >= 1, 'count_tokens was asked');
      assert.equal(compaction.tokens_before, app.fake.tokenCounts.at(-1)!.body && estimateTokens(app.fake.tokenCounts.at(-1)!.body));
    });

    it('retries once compacted when the upstream refuses a request as too long', async () => {
      limited(3000);
      script();
      let session: string | undefined;
      for (let i = 0; i < 40; i++) {
        const res = await run(`question ${i}: ${words(60)}`, session, 'trusting');
        assert.equal(res.status, 200, `run ${i}: ${JSON.stringify(res.body)}`);
        session = res.body.session_id;
      }
      const refused = app.fake.requests.filter((r) => estimateTokens(r.body) > 3000);
      assert.ok(refused.length >= 1, 'the upstream refused at least once');
      assert.ok((await app.server.store.context.list(session!)).length >= 1);
    });

    it('compaction "off": a thread past the window ends its run with context_overflow', async () => {
      limited(3000);
      script();
      const first = await run(`one ${'beta '.repeat(2000)}`, undefined, 'nocompact');
      assert.equal(first.status, 200);
      const second = await run(`two ${'gamma '.repeat(2000)}`, first.body.session_id, 'nocompact');
      assert.equal(second.status, 400);
      assert.equal(second.body.code, 'context_overflow');
    });

    it('a single prompt too large for any window is context_overflow, and the thread stays usable', async () => {
      limited();
      // An endpoint without the token-count route: the estimate alone decides (and the route is not asked again).
      app.fake.configure({ countTokens: false });
      script();
      const first = await run('hello');
      const huge = await run(`huge: ${'delta '.repeat(5000)}`, first.body.session_id);
      assert.equal(huge.status, 400, JSON.stringify(huge.body));
      assert.equal(huge.body.code, 'context_overflow');
      assert.match(huge.body.error, /too large for the model's context window/);
      const failed = await call(`${app.url}/v1/runs/${huge.body.run_id}`, 'GET');
      assert.equal(failed.body.status, 'failed');
      assert.equal(failed.body.error.code, 'context_overflow');
      // No request carrying the huge prompt reached the model.
      assert.ok(modelCalls(app.fake.requests).every((r) => !r.raw.includes('delta delta delta delta')));
      const next = await run('are you there?', first.body.session_id);
      assert.equal(next.status, 200, JSON.stringify(next.body));
      const last = app.fake.requests.at(-1)!;
      assert.ok(estimateTokens(last.body) < WINDOW);
      assert.match(text(last.body.messages[0]), /<summary>/);
      const listed = await call(`${app.url}/v1/threads/${first.body.session_id}/messages?limit=100`, 'GET');
      assert.equal(listed.body.items.length, 5, 'hello, its answer, the huge prompt, the next prompt and its answer');
    });
  });

  describe('context.compacted on every protocol', () => {
    /** Thread `id` holds a long first exchange: the next run passes the threshold and compacts. */
    const seed = async (id?: string) => {
      limited();
      script(words(300));
      const res = await run(`background: ${'epsilon '.repeat(1450)}`, id);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.session_id as string;
    };

    it('lean SSE and the REST event log carry it as is', async () => {
      const session = await seed();
      const res = await fetch(`${app.url}/v1/run/stream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'go on', session_id: session }) });
      const events: any[] = [];
      for await (const f of sseFrames(res.body!)) if (f.json) events.push(f.json);
      const compacted = events.find((e) => e.type === 'context.compacted');
      assert.ok(compacted, JSON.stringify(events.map((e) => e.type)));
      assert.equal(compacted.turns, 1);
      assert.ok(compacted.tokens_before > compacted.tokens_after);
      const runId = events.at(-1).run_id;
      const log = await call(`${app.url}/v1/runs/${runId}/events`, 'GET', undefined, { accept: 'application/json' });
      const stored = JSON.stringify(log.body);
      assert.match(stored, /context\.compacted/);
    });

    it('AG-UI: a CUSTOM context_compacted event the HttpAgent delivers', async () => {
      const threadId = randomUUID();
      await seed(threadId);
      const agent = new HttpAgent({ url: `${app.url}/v1/ag-ui/agents/assistant/runs`, threadId });
      agent.addMessage({ id: randomUUID(), role: 'user', content: 'go on' });
      const custom: any[] = [];
      const subscriber: AgentSubscriber = { onCustomEvent: ({ event }) => void custom.push(event) };
      await agent.runAgent({}, subscriber);
      const e = custom.find((c) => c.name === 'context_compacted');
      assert.ok(e, JSON.stringify(custom));
      assert.equal(e.value.turns, 1);
      assert.ok(e.value.tokensBefore > e.value.tokensAfter);
    });

    it('AI SDK: a data-context-compacted part in the assistant message useChat builds', async () => {
      const chatId = `chat-${randomUUID()}`;
      await seed(chatId);
      const chat = new TestChat({ id: chatId, transport: new DefaultChatTransport<UIMessage>({ api: `${app.url}/v1/ai-sdk/agents/assistant/runs` }) });
      await chat.sendMessage({ text: 'go on' });
      const last = chat.messages.at(-1)!;
      const part = last.parts.find((p) => p.type === 'data-context-compacted') as any;
      assert.ok(part, JSON.stringify(last.parts.map((p) => p.type)));
      assert.equal(part.data.turns, 1);
    });

    it('AI SDK: editing a compacted message drops the compaction; the model gets the edited thread whole', async () => {
      const chatId = `chat-${randomUUID()}`;
      const chat = new TestChat({ id: chatId, transport: new DefaultChatTransport<UIMessage>({ api: `${app.url}/v1/ai-sdk/agents/assistant/runs` }) });
      limited();
      script(words(300));
      await chat.sendMessage({ text: `background: ${'zeta '.repeat(2300)}` });
      await waitFor(async () => (await app.server.store.runs.latestActive(chatId)) === undefined);
      await chat.sendMessage({ text: 'go on' });
      await waitFor(async () => (await app.server.store.runs.latestActive(chatId)) === undefined);
      assert.equal((await app.server.store.context.list(chatId)).length, 1);
      // The first message, which the compaction summarised, is edited: it and everything after go.
      await chat.sendMessage({ text: 'short start', messageId: chat.messages[0].id });
      await waitFor(async () => (await app.server.store.runs.latestActive(chatId)) === undefined);
      assert.deepEqual(await app.server.store.context.list(chatId), []);
      const last = app.fake.requests.at(-1)!.body;
      assert.deepEqual(last.messages.map((m: any) => text(m)), ['short start']);
    });

    it('A2A: a working status whose metadata says so', async () => {
      const contextId = randomUUID();
      await seed(contextId);
      const client = await new ClientFactory().createFromUrl(app.url);
      const events = await collect(client.sendMessageStream(send(message('go on', { contextId }))));
      const status = events.find((e: any) => e.payload?.$case === 'statusUpdate' && e.payload.value.metadata?.context_compacted) as any;
      assert.ok(status, JSON.stringify(events));
      assert.equal(status.payload.value.metadata.context_compacted.turns, 1);
      await waitFor(async () => (await app.server.store.runs.latestActive(contextId)) === undefined);
    });
  });
});
