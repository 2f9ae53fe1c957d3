import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readUIMessageStream, uiMessageChunkSchema, type UIMessage, type UIMessageChunk } from 'ai';
import { AiSdkRunRequest } from '../contracts/ai-sdk.js';
import type { RunEvent } from '../contracts/events.js';
import { aiSdkFinishReason, createAiSdkMapper, toolOutput, type AiSdkChunk, type AiSdkMapperOptions } from '../src/protocols/ai-sdk/mapper.js';
import { planAiSdkRun, resumeTarget } from '../src/protocols/ai-sdk/input.js';
import { partsToChunks, toUIMessages, type StoredTurn } from '../src/protocols/ai-sdk/history.js';
import { AppError } from '../src/errors.js';
import { eventScripts } from './helpers/event-scripts.js';

const usage = { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
const ids = { runId: 'run_1', threadId: 'chat_1', agentId: 'assistant' };
const scripts = eventScripts({ ...ids, usage });
const { started, finished } = scripts;

function mapAll(events: RunEvent[], opts?: AiSdkMapperOptions): AiSdkChunk[] {
  const map = createAiSdkMapper(opts);
  return events.flatMap((e) => map(e));
}

/** Every chunk must pass the v6 client's own schema. */
async function assertValidChunks(chunks: unknown[]): Promise<void> {
  const schema = uiMessageChunkSchema();
  for (const c of chunks) {
    const r = await schema.validate!(c);
    assert.ok(r.success, `chunk rejected by uiMessageChunkSchema: ${JSON.stringify(c)}`);
  }
}

/** Without the `undefined` fields the client leaves on parts. */
const plain = (v: unknown): any => (v === undefined ? v : JSON.parse(JSON.stringify(v)));

/** The message a v6 client builds from the chunks. */
async function buildMessage(chunks: unknown[], message?: UIMessage): Promise<UIMessage | undefined> {
  const stream = new ReadableStream<UIMessageChunk>({
    start(c) {
      for (const chunk of chunks) c.enqueue(chunk as UIMessageChunk);
      c.close();
    },
  });
  let last: UIMessage | undefined;
  for await (const m of readUIMessageStream({ stream, message, terminateOnError: true })) last = m;
  return last;
}

const textRun: RunEvent[] = scripts.textReply('msg_a', ['Hello ', 'world'], { output: 'Hello world' });

const toolRun: RunEvent[] = scripts.toolRun({
  messageId: 'msg_a',
  calls: [
    { id: 'toolu_1', name: 'current_time', input: { timezone: 'UTC' }, argDeltas: ['{"timezone":', '"UTC"}'], output: '{"utc":"2026-01-01T00:00:00.000Z"}' },
    { id: 'toolu_2', name: 'current_time', input: { timezone: 'Nowhere' }, output: 'Invalid time zone', isError: true },
  ],
  then: { messageId: 'msg_b', text: ['Midnight.'] },
});

describe('AI SDK mapping: canonical events → UI message chunks', () => {
  it('maps a text run: start (named by the first step) → step → text → finish with metadata', async () => {
    const chunks = mapAll(textRun);
    assert.deepEqual(chunks, [
      { type: 'start', messageId: 'msg_a', messageMetadata: ids },
      { type: 'start-step' },
      { type: 'text-start', id: 'msg_a_0' },
      { type: 'text-delta', id: 'msg_a_0', delta: 'Hello ' },
      { type: 'text-delta', id: 'msg_a_0', delta: 'world' },
      { type: 'text-end', id: 'msg_a_0' },
      { type: 'finish-step' },
      { type: 'finish', finishReason: 'stop', messageMetadata: { ...ids, status: 'completed', stopReason: 'end_turn', usage } },
    ]);
    await assertValidChunks(chunks);
    const msg = await buildMessage(chunks);
    assert.equal(msg?.id, 'msg_a');
    assert.deepEqual(plain(msg?.parts), [{ type: 'step-start' }, { type: 'text', text: 'Hello world', state: 'done' }]);
    assert.deepEqual(msg?.metadata, { ...ids, status: 'completed', stopReason: 'end_turn', usage });
  });

  it('maps tool calls: input start/delta/available, output available (JSON parsed) or error, in one message over two steps', async () => {
    const chunks = mapAll(toolRun);
    const types = chunks.map((c) => c.type);
    assert.deepEqual(types, [
      'start',
      'start-step',
      'tool-input-start',
      'tool-input-delta',
      'tool-input-delta',
      'tool-input-available',
      'tool-input-start',
      'tool-input-available',
      'finish-step',
      'tool-output-available',
      'tool-output-error',
      'start-step',
      'text-start',
      'text-delta',
      'text-end',
      'finish-step',
      'finish',
    ]);
    assert.deepEqual(chunks[9], { type: 'tool-output-available', toolCallId: 'toolu_1', output: { utc: '2026-01-01T00:00:00.000Z' } });
    assert.deepEqual(chunks[10], { type: 'tool-output-error', toolCallId: 'toolu_2', errorText: 'Invalid time zone' });
    await assertValidChunks(chunks);
    const msg = await buildMessage(chunks);
    const tools = msg!.parts.filter((p) => p.type === 'tool-current_time') as any[];
    assert.deepEqual(
      tools.map((t) => [t.toolCallId, t.state, t.input, t.output ?? t.errorText]),
      [
        ['toolu_1', 'output-available', { timezone: 'UTC' }, { utc: '2026-01-01T00:00:00.000Z' }],
        ['toolu_2', 'output-error', { timezone: 'Nowhere' }, 'Invalid time zone'],
      ],
    );
    assert.equal(msg!.parts.filter((p) => p.type === 'step-start').length, 2);
  });

  it('maps reasoning, carrying the signature as Anthropic provider metadata', async () => {
    const chunks = mapAll(scripts.reasoningReply('msg_a', 'Think.', 'sig', 'Done.'));
    assert.deepEqual(chunks[4], { type: 'reasoning-end', id: 'msg_a_0', providerMetadata: { anthropic: { signature: 'sig' } } });
    await assertValidChunks(chunks);
    const msg = await buildMessage(chunks);
    const reasoning = msg!.parts.find((p) => p.type === 'reasoning') as any;
    assert.equal(reasoning.text, 'Think.');
    assert.deepEqual(reasoning.providerMetadata, { anthropic: { signature: 'sig' } });
  });

  it('a client tool call ends the message with finishReason tool-calls', async () => {
    const chunks = mapAll([
      started,
      { type: 'step.started', step: 1, message_id: 'msg_a' },
      { type: 'tool.call.start', id: 'toolu_c', name: 'get_location' },
      { type: 'tool.call.end', id: 'toolu_c', name: 'get_location', input: {} },
      { type: 'step.finished', step: 1, stop_reason: 'tool_use', usage },
      finished({ status: 'waiting', stop_reason: 'tool_use' }),
    ]);
    assert.equal((chunks.at(-1) as any).finishReason, 'tool-calls');
    await assertValidChunks(chunks);
  });

  it('a continued message is named up front and replays its earlier parts on resume', async () => {
    const prefix: AiSdkChunk[] = [{ type: 'start-step' }, { type: 'text-start', id: 'p' }, { type: 'text-delta', id: 'p', delta: 'Before. ' }, { type: 'text-end', id: 'p' }, { type: 'finish-step' }];
    const chunks = mapAll(textRun, { messageId: 'msg_prev', prefix });
    assert.deepEqual(chunks.slice(0, 6), [{ type: 'start', messageId: 'msg_prev', messageMetadata: ids }, ...prefix]);
    assert.equal(chunks.filter((c) => c.type === 'start').length, 1);
    const msg = await buildMessage(chunks);
    assert.equal(msg?.id, 'msg_prev');
    assert.deepEqual(
      msg?.parts.filter((p) => p.type === 'text').map((p: any) => p.text),
      ['Before. ', 'Hello world'],
    );
  });

  it('a model failure is an error chunk (metadata first) and nothing after it', async () => {
    const error: RunEvent = scripts.modelError();
    const chunks = mapAll([...textRun.slice(0, 4), error, { type: 'text.delta', id: 'msg_a_0', delta: 'late' }]);
    assert.deepEqual(chunks.slice(-2), [
      { type: 'message-metadata', messageMetadata: { ...ids, status: 'failed', usage, error: { code: 'upstream_error', message: 'model API error (HTTP 529): Overloaded' } } },
      { type: 'error', errorText: 'model API error (HTTP 529): Overloaded' },
    ]);
    await assertValidChunks(chunks);
    // Before any step the message has no id yet: a bare start, then the error.
    assert.deepEqual(mapAll([started, error]), [{ type: 'start' }, { type: 'error', errorText: error.message }]);
  });

  it('a cancel is an abort', async () => {
    const chunks = mapAll([...textRun.slice(0, 4), finished({ status: 'cancelled', stop_reason: 'cancelled' })]);
    assert.deepEqual(chunks.at(-1), { type: 'abort', reason: 'cancelled' });
    await assertValidChunks(chunks);
  });

  it('maps approvals and state (chunk types a v6 client accepts)', async () => {
    const chunks = mapAll([
      started,
      // The thread's state comes before the first step: it waits for the message to be named.
      { type: 'state.snapshot', state: { count: 1 } },
      { type: 'step.started', step: 1, message_id: 'msg_a' },
      { type: 'state.delta', patch: [{ op: 'replace', path: '/count', value: 2 }] },
      { type: 'tool.call.start', id: 'toolu_x', name: 'delete_file' },
      { type: 'tool.call.end', id: 'toolu_x', name: 'delete_file', input: { path: '/tmp/x' } },
      { type: 'tool.approval.requested', id: 'toolu_x', approval_id: 'appr_1', name: 'delete_file', input: { path: '/tmp/x' } },
      { type: 'step.finished', step: 1, stop_reason: 'tool_use', usage },
      finished({ status: 'waiting', stop_reason: 'tool_use' }),
    ]);
    assert.deepEqual(chunks.slice(0, 4), [
      { type: 'start', messageId: 'msg_a', messageMetadata: ids },
      { type: 'data-state', id: 'state', data: { count: 1 } },
      { type: 'start-step' },
      { type: 'data-state-delta', data: { patch: [{ op: 'replace', path: '/count', value: 2 }] }, transient: true },
    ]);
    assert.ok(chunks.some((c) => c.type === 'tool-approval-request' && c.approvalId === 'appr_1' && c.toolCallId === 'toolu_x'));
    await assertValidChunks(chunks);
    const msg = await buildMessage(chunks);
    assert.deepEqual(msg!.parts.find((p) => p.type === 'data-state'), { type: 'data-state', id: 'state', data: { count: 1 } });
    const tool = msg!.parts.find((p) => p.type === 'tool-delete_file') as any;
    assert.equal(tool.state, 'approval-requested');
    assert.equal(tool.approval.id, 'appr_1');
  });

  it('finish reasons', () => {
    assert.equal(aiSdkFinishReason('completed', 'end_turn'), 'stop');
    assert.equal(aiSdkFinishReason('completed', 'stop_sequence'), 'stop');
    assert.equal(aiSdkFinishReason('completed', 'max_tokens'), 'length');
    assert.equal(aiSdkFinishReason('completed', 'refusal'), 'content-filter');
    assert.equal(aiSdkFinishReason('completed', 'max_steps'), 'other');
    assert.equal(aiSdkFinishReason('waiting', 'tool_use'), 'tool-calls');
  });

  it('tool outputs: JSON objects parsed, anything else kept as text', () => {
    assert.deepEqual(toolOutput('{"a":1}'), { a: 1 });
    assert.deepEqual(toolOutput('[1]'), [1]);
    assert.equal(toolOutput('42'), '42');
    assert.equal(toolOutput('{oops'), '{oops');
  });
});

describe('AI SDK messages: stored turns ↔ UIMessages', () => {
  const stored: StoredTurn[] = [
    { id: 'u1', role: 'user', content: [{ type: 'text', text: 'time?' }], run_id: 'r1' },
    { id: 'a1', role: 'assistant', content: [{ type: 'thinking', thinking: 'hm', signature: 's' }, { type: 'tool_use', id: 't1', name: 'current_time', input: {} }], run_id: 'r1' },
    { id: 'x1', role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: '{"utc":"now"}' }], run_id: 'r1' },
    { id: 'a2', role: 'assistant', content: [{ type: 'text', text: 'Now.' }], run_id: 'r1' },
    { id: 'u2', role: 'user', content: [{ type: 'text', text: 'thanks' }], run_id: 'r2' },
  ];

  it('groups an answer\'s turns into one assistant message named by its first turn', () => {
    const ui = toUIMessages(stored);
    assert.deepEqual(ui.map((m) => [m.id, m.role]), [['u1', 'user'], ['a1', 'assistant'], ['u2', 'user']]);
    assert.deepEqual(ui[1].parts, [
      { type: 'step-start' },
      { type: 'reasoning', text: 'hm', state: 'done', providerMetadata: { anthropic: { signature: 's' } } },
      { type: 'tool-current_time', toolCallId: 't1', state: 'output-available', input: {}, output: { utc: 'now' } },
      { type: 'step-start' },
      { type: 'text', text: 'Now.', state: 'done' },
    ]);
  });

  it('partsToChunks rebuilds the same message in a v6 client', async () => {
    const message = toUIMessages(stored)[1];
    const chunks: unknown[] = [{ type: 'start', messageId: message.id }, ...partsToChunks(message), { type: 'finish' }];
    await assertValidChunks(chunks);
    const rebuilt = await buildMessage(chunks);
    assert.equal(rebuilt?.id, 'a1');
    // Streamed reasoning parts carry a part id; otherwise the message is the same.
    const strip = (parts: unknown[]) => plain(parts).map(({ id, ...p }: any) => p);
    assert.deepEqual(strip(rebuilt!.parts), strip(message.parts));
  });
});

describe('AI SDK requests → runtime input', () => {
  const body = (over: Record<string, unknown>) => AiSdkRunRequest.parse({ id: 'chat_1', trigger: 'submit-message', ...over });
  const user = (id: string, text: string) => ({ id, role: 'user', parts: [{ type: 'text', text }] });
  const thread: StoredTurn[] = [
    { id: 'u1', role: 'user', content: [{ type: 'text', text: 'hi' }] },
    { id: 'a1', role: 'assistant', content: [{ type: 'text', text: 'hello' }] },
  ];
  const rejects = (fn: () => unknown, re: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof AppError && e.code === 'bad_request' && re.test(e.message));

  it('takes only the new user message from a resent history', () => {
    const plan = planAiSdkRun(body({ messages: [user('u1', 'hi'), { id: 'a1', role: 'assistant', parts: [{ type: 'text', text: 'hello' }] }, user('u2', 'again')] }), thread);
    assert.deepEqual(plan.messages, [{ id: 'u2', role: 'user', content: [{ type: 'text', text: 'again' }] }]);
    assert.equal(plan.continues, undefined);
    assert.equal(plan.truncate, undefined);
  });

  it('rejects a request with nothing new', () => {
    rejects(() => planAiSdkRun(body({ messages: [user('u1', 'hi')] }), thread), /no new user message/);
    rejects(() => planAiSdkRun(body({ messages: [user('u1', 'hi'), { id: 'a1', role: 'assistant', parts: [] }] }), thread), /nothing to answer/);
    rejects(() => planAiSdkRun(body({ messages: [{ id: 'u9', role: 'user', parts: [{ type: 'step-start' }] }] }), thread), /no text/);
    rejects(() => planAiSdkRun(body({ messages: [{ id: 's', role: 'system', parts: [{ type: 'text', text: 'x' }] }] }), thread), /user message/);
  });

  it('regenerate truncates after the last user message; an edit replaces the message', () => {
    const regen = planAiSdkRun(body({ trigger: 'regenerate-message', messages: [user('u1', 'hi')] }), thread);
    assert.deepEqual(regen.truncate, { messageId: 'u1', inclusive: false });
    assert.deepEqual(regen.messages, []);
    const edit = planAiSdkRun(body({ messageId: 'u1', messages: [user('u1', 'hi, edited')] }), thread);
    assert.deepEqual(edit.truncate, { messageId: 'u1', inclusive: true });
    assert.deepEqual(edit.messages, [{ id: 'u1', role: 'user', content: [{ type: 'text', text: 'hi, edited' }] }]);
    rejects(() => planAiSdkRun(body({ trigger: 'regenerate-message', messages: [user('u1', 'hi'), { id: 'a1', role: 'assistant', parts: [] }] }), thread), /end with the user message/);
  });

  it('turns client tool outputs for pending calls into a tool_result turn that continues the message', () => {
    const waiting: StoredTurn[] = [
      thread[0],
      { id: 'a1', role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'get_location', input: {} }, { type: 'tool_use', id: 't2', name: 'ask', input: {} }] },
    ];
    const plan = planAiSdkRun(
      body({
        messageId: 'a1',
        tools: [{ name: 'get_location' }, { name: 'ask', description: 'Ask', inputSchema: { type: 'object', properties: { q: { type: 'string' } } } }],
        messages: [
          user('u1', 'hi'),
          {
            id: 'a1',
            role: 'assistant',
            parts: [
              { type: 'step-start' },
              { type: 'tool-ask', toolCallId: 't2', state: 'output-error', input: {}, errorText: 'user closed the dialog' },
              { type: 'tool-get_location', toolCallId: 't1', state: 'output-available', input: {}, output: { city: 'Paris' } },
            ],
          },
        ],
      }),
      waiting,
    );
    assert.deepEqual(plan.messages, [
      {
        id: 'result_t1',
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 't1', content: '{"city":"Paris"}' },
          { type: 'tool_result', tool_use_id: 't2', content: 'user closed the dialog', is_error: true },
        ],
      },
    ]);
    assert.equal(plan.continues, 'a1');
    assert.deepEqual(plan.clientTools, [
      { name: 'get_location', input_schema: { type: 'object', properties: {} } },
      { name: 'ask', description: 'Ask', input_schema: { type: 'object', properties: { q: { type: 'string' } } } },
    ]);
    // On resume the run is found to continue a1, whose earlier parts are replayed first.
    const target = resumeTarget({ id: 'r2', input: { messages: plan.messages } }, waiting);
    assert.equal(target.messageId, 'a1');
    assert.deepEqual(target.earlier?.parts.filter((p) => p.type.startsWith('tool-')).map((p: any) => p.state), ['output-available', 'output-error']);
    assert.deepEqual(resumeTarget({ id: 'r3', input: { messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }] } }, waiting), {});
  });

  it('seeds a new thread with the whole history; system messages become context; content shorthand', () => {
    const plan = planAiSdkRun(
      body({
        messages: [
          { id: 's', role: 'system', parts: [{ type: 'text', text: 'Be brief.' }] },
          user('u1', 'time?'),
          {
            id: 'a1',
            role: 'assistant',
            parts: [
              { type: 'step-start' },
              { type: 'tool-current_time', toolCallId: 't1', state: 'output-available', input: {}, output: { utc: 'x' } },
              { type: 'step-start' },
              { type: 'text', text: 'It is x.' },
            ],
          },
          { role: 'user', content: 'thanks' },
        ],
      }),
      [],
    );
    assert.equal(plan.context, 'Be brief.');
    assert.deepEqual(plan.messages, [
      { id: 'u1', role: 'user', content: [{ type: 'text', text: 'time?' }] },
      { id: 'a1', role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'current_time', input: {} }] },
      { id: 'a1_0_results', role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: '{"utc":"x"}' }] },
      { id: 'a1_1', role: 'assistant', content: [{ type: 'text', text: 'It is x.' }] },
      { role: 'user', content: [{ type: 'text', text: 'thanks' }] },
    ]);
  });

  it('user files: images and PDFs go to the model', () => {
    const plan = planAiSdkRun(
      body({
        messages: [
          {
            id: 'u1',
            role: 'user',
            parts: [
              { type: 'file', mediaType: 'image/png', url: 'data:image/png;base64,iVBORw0KGgo=' },
              { type: 'file', mediaType: 'application/pdf', url: 'https://example.com/a.pdf' },
              { type: 'text', text: 'what is this?' },
            ],
          },
        ],
      }),
      [],
    );
    assert.deepEqual(plan.messages[0].content, [
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } },
      { type: 'text', text: 'what is this?' },
    ]);
  });
});
