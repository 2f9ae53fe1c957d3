import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  DefaultChatTransport,
  lastAssistantMessageIsCompleteWithToolCalls,
  readUIMessageStream,
  uiMessageChunkSchema,
  type ChatInit,
  type UIMessage,
  type UIMessageChunk,
} from 'ai';
import { dialects } from './helpers/databases.js';
import { postJson, sseFrames, waitFor, type SseFrame } from './helpers/http.js';
import { useServer } from './helpers/setup.js';
import { words } from './helpers/text.js';
import { plain, TestChat, textOf } from './helpers/ai-chat.js';

for (const dialect of dialects()) describe(`AI SDK v6 UI message stream (real ai@6 chat engine) [${dialect}]`, () => {
  const app = useServer({ dialect, env: { AGENTSDK_SSE_PING_MS: '50' } });
  let base: string;
  let chatN = 0;

  before(() => {
    base = `${app.url}/v1/ai-sdk/agents/assistant`;
  });

  const transport = (opts: { body?: object; fetch?: typeof fetch } = {}) =>
    new DefaultChatTransport<UIMessage>({
      api: `${base}/runs`,
      prepareReconnectToStreamRequest: ({ id }) => ({ api: `${base}/chats/${id}/stream` }),
      ...opts,
    });
  const newChat = (init: Partial<ChatInit<UIMessage>> & { body?: object; fetch?: typeof fetch } = {}) => {
    const { body, fetch: f, ...rest } = init;
    return new TestChat({ id: `chat-${++chatN}-${Date.now()}`, transport: transport({ body, fetch: f }), ...rest });
  };
  /**
   * The stream ends with the terminal event and the run is committed just after it: wait until
   * the chat has no queued or running run before reading the thread or sending the next request.
   */
  const settled = (chatId: string) => waitFor(async () => (await app.server.store.runs.latestActive(chatId)) === undefined, 10_000, 'the run to be stored');
  const stored = async (chatId: string) => (await app.server.store.messages.list(chatId)).map((m) => ({ id: m.id, role: m.role, types: (m.content as any[]).map((b) => b.type) }));

  /** POST raw; every frame is checked: v6 chunk schema, header, `[DONE]` last. */
  async function rawRun(body: unknown, path = `${base}/runs`): Promise<{ chunks: any[]; frames: SseFrame[] }> {
    const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(res.status, 200, await res.clone().text());
    return readRaw(res);
  }
  async function readRaw(res: Response): Promise<{ chunks: any[]; frames: SseFrame[] }> {
    assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
    assert.equal(res.headers.get('x-vercel-ai-ui-message-stream'), 'v1');
    const frames: SseFrame[] = [];
    for await (const f of sseFrames(res.body!)) if (f.data !== '') frames.push(f);
    assert.equal(frames.at(-1)?.data, '[DONE]', 'the last frame is [DONE]');
    assert.equal(frames.filter((f) => f.data === '[DONE]').length, 1);
    const chunks = frames.slice(0, -1).map((f) => f.json);
    const schema = uiMessageChunkSchema();
    for (const c of chunks) assert.ok((await schema.validate!(c)).success, `v6 rejects ${JSON.stringify(c)}`);
    return { chunks, frames };
  }

  it('a text reply becomes an assistant message with text parts, named as stored', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'Hello there, friend.' }] });
    const chat = newChat();
    await chat.sendMessage({ text: 'hi' });
    assert.equal(chat.status, 'ready');
    assert.equal(chat.error, undefined);
    assert.equal(chat.messages.length, 2);
    const [user, answer] = chat.messages;
    assert.equal(answer.role, 'assistant');
    assert.deepEqual(plain(answer.parts), [{ type: 'step-start' }, { type: 'text', text: 'Hello there, friend.', state: 'done' }]);
    const meta = answer.metadata as any;
    assert.match(meta.runId, /^run_/);
    assert.equal(meta.threadId, chat.id);
    assert.equal(meta.usage.output_tokens, 3);
    // The chat id is the thread; the UI message ids are the stored turn ids.
    await settled(chat.id);
    assert.deepEqual(await stored(chat.id), [
      { id: user.id, role: 'user', types: ['text'] },
      { id: answer.id, role: 'assistant', types: ['text'] },
    ]);
    assert.deepEqual(app.fake.requests[0].body.messages, [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
    const run = await app.server.store.runs.get(meta.runId);
    assert.equal(run?.origin, 'ai-sdk');
    assert.equal(run?.status, 'completed');
  });

  it('a server tool shows as a tool part with input and output; readUIMessageStream agrees', async () => {
    app.fake.enqueue(
      { content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_t1', name: 'current_time', input: { timezone: 'Europe/Paris' } }] },
      { content: [{ type: 'text', text: 'It is late.' }] },
    );
    const chat = newChat();
    await chat.sendMessage({ text: 'time in Paris?' });
    const answer = chat.messages[1];
    const tool = answer.parts.find((p) => p.type === 'tool-current_time') as any;
    assert.equal(tool.toolCallId, 'toolu_t1');
    assert.equal(tool.state, 'output-available');
    assert.deepEqual(tool.input, { timezone: 'Europe/Paris' });
    assert.equal(tool.output.timezone, 'Europe/Paris');
    assert.ok(!Number.isNaN(Date.parse(tool.output.utc)));
    assert.deepEqual(
      answer.parts.map((p) => p.type),
      ['step-start', 'text', 'tool-current_time', 'step-start', 'text'],
    );
    assert.equal(chat.messages.length, 2, 'both model calls are one UI message');

    // The same through DefaultChatTransport + readUIMessageStream, with raw frames checked too.
    app.fake.enqueue(
      { content: [{ type: 'tool_use', id: 'toolu_t2', name: 'current_time', input: {} }] },
      { content: [{ type: 'text', text: 'Done.' }] },
    );
    const stream = await transport().sendMessages({
      chatId: `${chat.id}-b`,
      messages: [{ id: 'u-b', role: 'user', parts: [{ type: 'text', text: 'time?' }] }],
      trigger: 'submit-message',
      messageId: undefined,
      abortSignal: undefined,
    });
    let last: UIMessage | undefined;
    for await (const m of readUIMessageStream({ stream, terminateOnError: true })) last = m;
    const t2 = last!.parts.find((p) => p.type === 'tool-current_time') as any;
    assert.equal(t2.state, 'output-available');
    assert.equal(textOf(last), 'Done.');
  });

  it('reasoning parts come from extended thinking', async () => {
    app.fake.enqueue({ content: [{ type: 'thinking', thinking: 'Let me think about it', signature: 'sig123' }, { type: 'text', text: 'Answer.' }] });
    const chat = newChat();
    await chat.sendMessage({ text: 'think' });
    const reasoning = chat.messages[1].parts.find((p) => p.type === 'reasoning') as any;
    assert.equal(reasoning.text, 'Let me think about it');
    assert.equal(reasoning.state, 'done');
    assert.deepEqual(reasoning.providerMetadata, { anthropic: { signature: 'sig123' } });
    assert.equal(textOf(chat.messages[1]), 'Answer.');
  });

  it('a model failure sets the chat error state', async () => {
    app.fake.enqueue({ error: { status: 500, type: 'api_error', message: 'the model is down' } });
    const chat = newChat();
    await chat.sendMessage({ text: 'hi' });
    assert.equal(chat.status, 'error');
    assert.match(chat.error!.message, /model API error \(HTTP 500\): the model is down/);

    // Mid-answer failure: the partial answer stays, the error is reported.
    app.fake.enqueue({ content: [{ type: 'text', text: 'Partial answer' }], streamError: { type: 'overloaded_error', message: 'Overloaded' } });
    const chat2 = newChat();
    await chat2.sendMessage({ text: 'hi' });
    assert.equal(chat2.status, 'error');
    assert.match(chat2.error!.message, /Overloaded/);
    assert.equal(textOf(chat2.messages[1]), 'Partial answer');
    assert.equal((chat2.messages[1].metadata as any).error.code, 'upstream_error');
  });

  it('a cancelled run ends the stream with abort; the chat keeps the partial answer', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: words(40) }], chunkDelayMs: 20 });
    const chatId = `cancel-${Date.now()}`;
    const res = await fetch(`${base}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: chatId, trigger: 'submit-message', messages: [{ id: `${chatId}-u`, role: 'user', parts: [{ type: 'text', text: 'go' }] }] }),
    });
    const reading = readRaw(res);
    const run = await waitFor(() => app.server.store.runs.latestActive(chatId), 5000, 'the run');
    await waitFor(() => (app.server.runtime.get(run.id)?.events.length ?? 0) > 6, 5000, 'some text');
    assert.ok(app.server.runtime.cancel(run.id));
    const { chunks } = await reading;
    assert.deepEqual(chunks.at(-1), { type: 'abort', reason: 'cancelled' });
    assert.ok(chunks.some((c) => c.type === 'text-delta'));
    await app.server.runtime.get(run.id)?.done;
    assert.equal((await app.server.store.runs.get(run.id))?.status, 'cancelled');
  });

  it('raw stream: v6 chunk schema, header, [DONE]; tool, reasoning and error streams too', async () => {
    app.fake.enqueue(
      { content: [{ type: 'thinking', thinking: 'hm', signature: 's' }, { type: 'tool_use', id: 'toolu_r', name: 'current_time', input: { timezone: 'Not/AZone' } }] },
      { content: [{ type: 'text', text: 'Sorry.' }], stop_reason: 'max_tokens' },
    );
    const { chunks } = await rawRun({ id: `raw-${Date.now()}`, messages: [{ id: `u-${Date.now()}`, role: 'user', parts: [{ type: 'text', text: 'x' }] }], trigger: 'submit-message' });
    const types = chunks.map((c) => c.type);
    assert.equal(types[0], 'start');
    assert.equal(types.at(-1), 'finish');
    assert.equal(chunks.at(-1).finishReason, 'length');
    assert.ok(types.includes('reasoning-delta') && types.includes('tool-input-delta') && types.includes('tool-output-error'));
    assert.equal(types.filter((t) => t === 'start-step').length, types.filter((t) => t === 'finish-step').length);

    app.fake.enqueue({ error: { status: 529, type: 'overloaded_error', message: 'Overloaded' } });
    const failed = await rawRun({ id: `raw-e-${Date.now()}`, messages: [{ id: `u-e-${Date.now()}`, role: 'user', parts: [{ type: 'text', text: 'x' }] }], trigger: 'submit-message' });
    assert.deepEqual(
      failed.chunks.map((c) => c.type),
      ['start', 'start-step', 'message-metadata', 'error'],
    );
  });

  it('resumeStream() after the connection dropped mid-answer gives the same message as an uninterrupted run', async () => {
    const text = words(30);
    // Uninterrupted reference.
    app.fake.enqueue({ content: [{ type: 'text', text }] });
    const reference = newChat();
    await reference.sendMessage({ text: 'tell me' });
    const expected = plain(reference.messages[1].parts);

    // A fetch whose response body fails like a dropped network connection.
    let drop: (() => void) | undefined;
    const droppingFetch: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (init?.method !== 'POST' || !res.body) return res;
      const reader = res.body.getReader();
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          drop = () => {
            controller.error(new TypeError('network error'));
            void reader.cancel().catch(() => {});
          };
        },
        async pull(controller) {
          const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
          if (done) controller.close();
          else controller.enqueue(value);
        },
      });
      return new Response(body, { status: res.status, headers: res.headers });
    };
    app.fake.enqueue({ content: [{ type: 'text', text }], chunkDelayMs: 25 });
    const chat = newChat({ fetch: droppingFetch });
    const sending = chat.sendMessage({ text: 'tell me' });
    await waitFor(() => textOf(chat.messages[1]).split(' ').length >= 5, 10_000, 'some streamed words');
    drop!();
    await sending;
    assert.equal(chat.status, 'error', 'the client saw the connection drop');
    const partial = textOf(chat.messages[1]);
    assert.ok(partial.length < text.length, 'dropped mid-answer');

    // The run went on without the client; resume replays it from its first chunk, then live.
    const runId = (chat.messages[1].metadata as any).runId;
    assert.ok(app.server.runtime.get(runId), 'the run is still going');
    await chat.resumeStream();
    assert.equal(chat.status, 'ready');
    assert.equal(chat.error, undefined);
    assert.equal(chat.messages.length, 2, 'no duplicated message');
    assert.equal(textOf(chat.messages[1]), text, 'no duplicated text');
    assert.deepEqual(plain(chat.messages[1].parts), expected);
    assert.equal((chat.messages[1].metadata as any).status, 'completed');
    assert.equal(app.fake.requests.length, 2, 'resuming does not call the model again');

    // Once the run has finished, resuming is a no-op.
    const before = plain(chat.messages);
    await chat.resumeStream();
    assert.equal(chat.status, 'ready');
    assert.deepEqual(plain(chat.messages), before);
  });

  it('a reloaded page (new chat, history from /messages) resumes the active run', async () => {
    const text = words(40);
    app.fake.enqueue({ content: [{ type: 'text', text }], chunkDelayMs: 25 });
    const first = newChat();
    const sending = first.sendMessage({ text: 'go' });
    await waitFor(() => textOf(first.messages[1]).length > 0, 10_000, 'streaming');
    await first.stop(); // the tab goes away: the request is aborted, the run is not
    await sending;
    const partial = textOf(first.messages[1]);
    assert.ok(partial.length < text.length);

    const res = await fetch(`${base}/chats/${first.id}/messages`);
    const { messages } = await res.json();
    assert.equal(messages[0].role, 'user');
    const reloaded = new TestChat({ id: first.id, messages, transport: transport() });
    await reloaded.resumeStream();
    assert.equal(reloaded.messages.length, 2);
    assert.equal(textOf(reloaded.messages[1]), text);
    assert.equal(reloaded.messages[1].id, first.messages[1].id, 'the same message id as the first connection');
    // And /messages now holds what the stream built.
    await settled(first.id);
    const after = await (await fetch(`${base}/chats/${first.id}/messages`)).json();
    assert.deepEqual(plain(after.messages[1].parts), plain(reloaded.messages[1].parts));
  });

  it('resume with nothing active is a no-op (204)', async () => {
    const res = await fetch(`${base}/chats/never-used-chat/stream`);
    assert.equal(res.status, 204);
    assert.equal(await res.text(), '');
    const chat = newChat();
    await chat.resumeStream();
    assert.equal(chat.status, 'ready');
    assert.deepEqual(chat.messages, []);
    assert.equal((await fetch(`${app.url}/v1/ai-sdk/agents/nobody/chats/x/stream`)).status, 404);
    const bad = await fetch(`${base}/chats/${encodeURIComponent('bad id!')}/stream`);
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).code, 'bad_request');
  });

  it('regenerate replaces the last answer; an edit replaces the message and its answer', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'First answer.' }] }, { content: [{ type: 'text', text: 'Second answer.' }] });
    const chat = newChat();
    await chat.sendMessage({ text: 'hi' });
    const firstAnswer = chat.messages[1];
    await settled(chat.id);
    await chat.regenerate();
    assert.equal(chat.status, 'ready');
    assert.equal(chat.messages.length, 2);
    assert.equal(textOf(chat.messages[1]), 'Second answer.');
    assert.notEqual(chat.messages[1].id, firstAnswer.id);
    // The model was asked again without the old answer, which is gone from the thread.
    assert.deepEqual(app.fake.requests[1].body.messages, [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
    await settled(chat.id);
    assert.deepEqual(await stored(chat.id), [
      { id: chat.messages[0].id, role: 'user', types: ['text'] },
      { id: chat.messages[1].id, role: 'assistant', types: ['text'] },
    ]);

    // Editing the user message (`sendMessage({ messageId })`) replaces it and what followed.
    app.fake.enqueue({ content: [{ type: 'text', text: 'Answer to the edit.' }] });
    const userId = chat.messages[0].id;
    await chat.sendMessage({ text: 'hi, edited', messageId: userId });
    assert.equal(chat.status, 'ready');
    assert.deepEqual(app.fake.requests[2].body.messages, [{ role: 'user', content: [{ type: 'text', text: 'hi, edited' }] }]);
    await settled(chat.id);
    const after = await (await fetch(`${base}/chats/${chat.id}/messages`)).json();
    assert.deepEqual(
      after.messages.map((m: UIMessage) => [m.id, textOf(m)]),
      [[userId, 'hi, edited'], [chat.messages[1].id, 'Answer to the edit.']],
    );
  });

  it('resending history does not duplicate stored messages; nothing new is a 400', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'One.' }] }, { content: [{ type: 'text', text: 'Two.' }] });
    const chat = newChat();
    await chat.sendMessage({ text: 'first' });
    await settled(chat.id);
    await chat.sendMessage({ text: 'second' });
    await settled(chat.id);
    assert.deepEqual(
      (await stored(chat.id)).map((m) => m.id),
      chat.messages.map((m) => m.id),
    );
    assert.deepEqual(
      app.fake.requests[1].body.messages.map((m: any) => [m.role, m.content[0].text]),
      [['user', 'first'], ['assistant', 'One.'], ['user', 'second']],
    );
    const again = await postJson(`${base}/runs`, { id: chat.id, messages: chat.messages.slice(0, 3), trigger: 'submit-message' });
    assert.equal(again.status, 400);
    assert.equal(again.body.code, 'bad_request');
    assert.match(again.body.error, /no new user message/);
    const whole = await postJson(`${base}/runs`, { id: chat.id, messages: chat.messages, trigger: 'submit-message' });
    assert.equal(whole.status, 400);
    assert.match(whole.body.error, /nothing to answer/);
    // Another chat cannot reuse this chat's message ids.
    const stolen = await postJson(`${base}/runs`, { id: `${chat.id}-other`, messages: [chat.messages[2]], trigger: 'submit-message' });
    assert.equal(stolen.status, 409);
    assert.match(stolen.body.error, new RegExp(chat.messages[2].id));
    assert.equal((await stored(chat.id)).length, 4);
  });

  it('client-side tools: the call ends the response, the output continues it in the same message', async () => {
    app.fake.enqueue(
      { content: [{ type: 'tool_use', id: 'toolu_loc', name: 'get_location', input: { precise: true } }] },
      { content: [{ type: 'text', text: 'You are in Paris.' }] },
    );
    const calls: string[] = [];
    const chat: TestChat = newChat({
      body: { tools: [{ name: 'get_location', description: 'The user location', inputSchema: { type: 'object', properties: { precise: { type: 'boolean' } } } }] },
      sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithToolCalls,
      onToolCall: ({ toolCall }) => {
        calls.push(toolCall.toolName);
        void chat.addToolOutput({ tool: 'get_location', toolCallId: toolCall.toolCallId, output: { city: 'Paris' } });
      },
    });
    await chat.sendMessage({ text: 'where am I?' });
    await waitFor(() => chat.status === 'ready' && app.fake.requests.length === 2 && textOf(chat.messages.at(-1)) === 'You are in Paris.', 10_000, 'the continued answer');
    await settled(chat.id);
    assert.deepEqual(calls, ['get_location']);
    assert.equal(app.fake.requests[0].body.tools.find((t: any) => t.name === 'get_location').input_schema.properties.precise.type, 'boolean');
    assert.deepEqual(app.fake.requests[1].body.messages.at(-1), { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_loc', content: '{"city":"Paris"}' }] });
    assert.equal(chat.messages.length, 2, 'one assistant message across both runs');
    const answer = chat.messages[1];
    assert.deepEqual(
      plain(answer.parts).map((p: any) => [p.type, p.state]),
      [['step-start', undefined], ['tool-get_location', 'output-available'], ['step-start', undefined], ['text', 'done']],
    );
    assert.deepEqual(
      (await stored(chat.id)).map((m) => m.types),
      [['text'], ['tool_use'], ['tool_result'], ['text']],
    );
    // /messages rebuilds the same message from the thread.
    const hydrated = await (await fetch(`${base}/chats/${chat.id}/messages`)).json();
    assert.deepEqual(hydrated.messages.map((m: UIMessage) => m.id), chat.messages.map((m) => m.id));
    assert.deepEqual(plain(hydrated.messages[1].parts), plain(answer.parts).map((p: any) => (p.type === 'tool-get_location' ? { type: p.type, toolCallId: p.toolCallId, state: p.state, input: p.input, output: p.output } : p)));
    const firstRun = await app.server.store.runs.get((answer.metadata as any).runId);
    assert.equal(firstRun?.status, 'completed', 'metadata names the latest run');
  });

  it('resuming a continued answer replays its earlier parts too', async () => {
    const text = words(20);
    app.fake.enqueue({ content: [{ type: 'tool_use', id: 'toolu_c2', name: 'get_location', input: {} }] }, { content: [{ type: 'text', text }], chunkDelayMs: 25 });
    const chatId = `cont-${Date.now()}`;
    const u1 = { id: `${chatId}-u1`, role: 'user', parts: [{ type: 'text', text: 'where?' }] };
    const tools = [{ name: 'get_location' }];
    const first = await rawRun({ id: chatId, tools, trigger: 'submit-message', messages: [u1] });
    const messageId = first.chunks[0].messageId;
    assert.equal(first.chunks.at(-1).finishReason, 'tool-calls');
    const assistant = {
      id: messageId,
      role: 'assistant',
      parts: [{ type: 'step-start' }, { type: 'tool-get_location', toolCallId: 'toolu_c2', state: 'output-available', input: {}, output: 'Paris' }],
    };
    const controller = new AbortController();
    const second = await fetch(`${base}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: chatId, tools, trigger: 'submit-message', messageId, messages: [u1, assistant] }),
      signal: controller.signal,
    });
    assert.equal(second.status, 200);
    const reader = second.body!.getReader();
    const firstFrame = new TextDecoder().decode((await reader.read()).value);
    assert.match(firstFrame, new RegExp(`"type":"start","messageId":"${messageId}"`), 'a continuation keeps the message id');
    controller.abort();

    // A reload: history from /messages, then resume.
    const { messages } = await (await fetch(`${base}/chats/${chatId}/messages`)).json();
    const chat = new TestChat({ id: chatId, messages, transport: transport() });
    await chat.resumeStream();
    assert.equal(chat.messages.length, 2);
    const answer = chat.messages[1];
    assert.equal(answer.id, messageId);
    assert.deepEqual(
      plain(answer.parts).map((p: any) => [p.type, p.state, p.output]),
      [['step-start', undefined, undefined], ['tool-get_location', 'output-available', 'Paris'], ['step-start', undefined, undefined], ['text', 'done', undefined]],
    );
    assert.equal(textOf(answer), text);
  });

  it('resumes a run another process owns from stored events, polling until it ends', async () => {
    const chatId = `other-${Date.now()}`;
    const runId = `run_other_${Date.now()}`;
    const { store } = app.server;
    await store.createRun({ id: runId, thread_id: chatId, agent_id: 'assistant', origin: 'ai-sdk', input: { messages: [] }, timeout_ms: 60_000, owner: 'another-process', created_at: new Date().toISOString() }, { id: 'local', admin: true });
    await store.runs.markRunning(runId);
    const usage = { input_tokens: 1, output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
    const events = [
      { type: 'run.started', run_id: runId, thread_id: chatId, agent_id: 'assistant' },
      { type: 'step.started', step: 1, message_id: 'msg_other' },
      { type: 'text.start', id: 'msg_other_0' },
      { type: 'text.delta', id: 'msg_other_0', delta: 'from ' },
      { type: 'text.delta', id: 'msg_other_0', delta: 'elsewhere' },
      { type: 'text.end', id: 'msg_other_0' },
      { type: 'step.finished', step: 1, stop_reason: 'end_turn', usage },
      { type: 'run.finished', status: 'completed', output: 'from elsewhere', stop_reason: 'end_turn', usage, tool_calls: [] },
    ];
    const push = async (from: number, to: number) => {
      for (let i = from; i < to; i++) store.events.push(runId, i + 1, JSON.stringify(events[i]));
      await store.events.flush();
    };
    await push(0, 4);
    const res = await fetch(`${base}/chats/${chatId}/stream`);
    assert.equal(res.status, 200);
    const reading = readRaw(res);
    await new Promise((r) => setTimeout(r, 300));
    await push(4, events.length);
    await store.finishRun(runId, chatId, { status: 'completed', stop_reason: 'end_turn', output: 'from elsewhere', usage, tool_calls: [], error: null });
    const { chunks } = await reading;
    assert.equal(chunks[0].messageId, 'msg_other');
    assert.equal(chunks.filter((c) => c.type === 'text-delta').map((c) => c.delta).join(''), 'from elsewhere');
    assert.equal(chunks.at(-1).type, 'finish');
    assert.equal((await fetch(`${base}/chats/${chatId}/stream`)).status, 204, 'finished: nothing to resume');
  });

  it('validates before streaming: 404 unknown agent, 400 bad body, 415 content type, 409 regenerate during a run', async () => {
    const msg = [{ id: `u-${Date.now()}`, role: 'user', parts: [{ type: 'text', text: 'hi' }] }];
    const unknown = await postJson(`${app.url}/v1/ai-sdk/agents/nobody/runs`, { id: 'c', messages: msg });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'not_found');

    const cases: Array<[unknown, RegExp]> = [
      [{ messages: msg }, /id/],
      [{ id: 'c', messages: [] }, /messages/],
      [{ id: 'c', messages: [{ id: 'u', role: 'robot', parts: [] }] }, /role/],
      [{ id: 'c', messages: [{ id: 'u', role: 'user', parts: [{ type: 'text', text: 1 }] }] }, /parts\.0\.text/],
      [{ id: 'c', messages: msg, trigger: 'resume' }, /trigger/],
      [{ id: 'bad id!', messages: msg }, /id/],
      [{ id: 'c', messages: msg, tools: [{ name: 'bad name' }] }, /tools\.0\.name/],
      [{ id: 'c', messages: [{ id: 'u', role: 'user', parts: [{ type: 'file', mediaType: 'application/zip', url: 'data:application/zip;base64,eA==' }] }] }, /not supported/],
    ];
    for (const [body, re] of cases) {
      const r = await postJson(`${base}/runs`, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.code, 'bad_request');
      assert.match(r.body.error, re);
    }
    const issues = (await postJson(`${base}/runs`, { id: 'c', messages: [{ id: 'u', role: 'user', parts: [{ type: 'text', text: 1 }] }] })).body.issues;
    assert.deepEqual(issues[0].path, ['messages', 0, 'parts', 0, 'text']);

    const wrongType = await fetch(`${base}/runs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(wrongType.status, 415);

    // Extra body fields the transport adds are accepted.
    app.fake.enqueue({ content: [{ type: 'text', text: 'ok' }], delayMs: 300 });
    const chatId = `busy-${Date.now()}`;
    const running = rawRun({ id: chatId, messages: msg, trigger: 'submit-message', messageId: undefined, customField: { a: 1 } });
    await waitFor(async () => (await app.server.store.runs.latestActive(chatId)) !== undefined, 5000, 'the run');
    const regen = await postJson(`${base}/runs`, { id: chatId, messages: msg, trigger: 'regenerate-message' });
    assert.equal(regen.status, 409);
    assert.equal(regen.body.code, 'conflict');
    await running;
  });

  it('the curl shape of the docs works (content shorthand, caller run id)', async () => {
    app.fake.enqueue({ content: [{ type: 'text', text: 'hello back' }] });
    const runId = `run-curl-${Date.now()}`;
    const { chunks } = await rawRun({ id: `curl-${Date.now()}`, runId, messages: [{ role: 'user', content: 'hello' }] });
    assert.equal(chunks[0].messageMetadata.runId, runId);
    assert.equal(chunks.filter((c) => c.type === 'text-delta').map((c) => c.delta).join(''), 'hello back');
  });
});
