import { z } from 'zod';
import { Cursor, Limit, NextCursor } from './pagination.js';
import { Id } from './run.js';

/**
 * AG-UI (`@ag-ui/core` 1.x, protocol 1.0) contracts. They mirror the
 * protocol's own schemas (objects stay open: the protocol adds fields over time)
 * plus this server's rules: non-blank, printable ids and at least one message.
 * The wire events themselves are `@ag-ui/core`'s; `AgUiEvent` below documents the
 * subset this server emits, for the OpenAPI document.
 */

/** threadId / runId: the thread and run ids of this server (URLs, SQL), so printable and bounded. */
const AgUiId = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .refine((s) => s.trim().length > 0, { message: `${what} must not be blank`, abort: true })
    .pipe(Id)
    .describe(`${what}: 1-200 characters of letters, digits and . _ : - (not . or ..)`);

const Metadata = z.record(z.string(), z.unknown()).describe('Extra information, open by key');

export const AgUiPartSource = z
  .discriminatedUnion('type', [
    z.looseObject({ type: z.literal('data'), value: z.string().describe('base64'), mimeType: z.string() }),
    z.looseObject({ type: z.literal('url'), value: z.string(), mimeType: z.string().optional() }),
    z.looseObject({ type: z.literal('file'), value: z.string(), provider: z.string().optional(), mimeType: z.string().optional() }),
  ])
  .meta({ id: 'AgUiPartSource' });

const mediaPart = <T extends string>(type: T) => z.looseObject({ type: z.literal(type), id: z.string().optional(), source: AgUiPartSource, metadata: z.unknown().optional() });

export const AgUiContentPart = z
  .discriminatedUnion('type', [
    z.looseObject({ type: z.literal('text'), id: z.string().optional(), text: z.string(), metadata: z.unknown().optional() }),
    mediaPart('image'),
    mediaPart('audio'),
    mediaPart('video'),
    mediaPart('document'),
  ])
  .describe('Text, image and document (PDF or plain text) parts reach the model; audio and video are refused')
  .meta({ id: 'AgUiContentPart' });

export const AgUiToolCall = z
  .looseObject({
    id: z.string(),
    type: z.literal('function'),
    function: z.looseObject({ name: z.string(), arguments: z.string().describe('JSON text') }),
    encryptedValue: z.string().optional(),
    metadata: Metadata.optional(),
  })
  .meta({ id: 'AgUiToolCall' });

const base = {
  id: z
    .string()
    .min(1, 'message id must not be empty')
    .max(200, 'message id must be at most 200 characters')
    .optional()
    .describe('Required by AG-UI; the server stores the message under it and skips it when it comes again (without one it is always new)'),
  subagentRunId: z.string().optional(),
  metadata: Metadata.optional(),
};

export const AgUiMessage = z
  .discriminatedUnion('role', [
    z.looseObject({ ...base, role: z.literal('developer'), name: z.string().optional(), encryptedValue: z.string().optional(), content: z.string() }),
    z.looseObject({ ...base, role: z.literal('system'), name: z.string().optional(), encryptedValue: z.string().optional(), content: z.string() }),
    z.looseObject({
      ...base,
      role: z.literal('assistant'),
      name: z.string().optional(),
      encryptedValue: z.string().optional(),
      content: z.string().optional(),
      toolCalls: z.array(AgUiToolCall).optional(),
    }),
    z.looseObject({
      ...base,
      role: z.literal('user'),
      name: z.string().optional(),
      encryptedValue: z.string().optional(),
      content: z.union([z.string(), z.array(AgUiContentPart)]),
    }),
    z.looseObject({
      ...base,
      role: z.literal('tool'),
      content: z.union([z.string(), z.array(AgUiContentPart)]),
      toolCallId: z.string().min(1),
      error: z.string().optional(),
      encryptedValue: z.string().optional(),
    }),
    z.looseObject({ ...base, role: z.literal('activity'), activityType: z.string(), content: z.record(z.string(), z.unknown()) }),
    z.looseObject({ ...base, role: z.literal('reasoning'), content: z.string(), encryptedValue: z.string().optional() }),
  ])
  .meta({ id: 'AgUiMessage' });
export type AgUiMessage = z.infer<typeof AgUiMessage>;

export const AgUiTool = z
  .looseObject({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'tool name must be 1-64 letters, digits, _ or -'),
    description: z.string(),
    parameters: z.record(z.string(), z.unknown()).optional().describe('JSON Schema of the arguments (an object schema)'),
    metadata: Metadata.optional(),
  })
  .describe('A tool the client executes (a frontend tool)')
  .meta({ id: 'AgUiTool' });

export const AgUiContext = z.looseObject({ description: z.string(), value: z.string() }).meta({ id: 'AgUiContext' });

/** Body of POST /v1/ag-ui/agents/:agentId/runs: AG-UI `RunAgentInput`. */
export const AgUiRunRequest = z
  .looseObject({
    threadId: AgUiId('threadId').describe('The thread (conversation); created on first use'),
    runId: AgUiId('runId').describe('The id this run gets; a run id already used → 409'),
    parentRunId: z.string().optional(),
    protocolVersion: z.string().optional(),
    state: z
      .unknown()
      .optional()
      .describe('Shared state: replaces the thread state before the run; absent, null or {} keeps the stored state'),
    messages: z
      .array(AgUiMessage, { error: 'messages must be an array of AG-UI messages' })
      .min(1, 'messages must not be empty')
      .describe('The whole conversation as the client has it; messages the thread already holds are skipped'),
    tools: z.array(AgUiTool).optional().describe('Frontend tools: when the model calls one the run ends and the client answers with a role "tool" message'),
    context: z.array(AgUiContext).optional().describe('Given to the model as extra system text'),
    forwardedProps: z.unknown().optional().describe('Passed through; this server reads `timeout_ms` (run timeout in ms), `multitask_strategy` and `webhook` from it when it is an object'),
    resume: z.array(z.unknown()).optional(),
  })
  .meta({ id: 'AgUiRunAgentInput' });
export type AgUiRunRequest = z.infer<typeof AgUiRunRequest>;

/** Path parameters. */
export const AgUiAgentParams = z.strictObject({ agentId: Id });
export const AgUiThreadParams = z.strictObject({ id: Id });

/** Query of GET /v1/ag-ui/threads/:id/messages (the same paging as GET /v1/threads/:id/messages). */
export const AgUiListMessagesQuery = z.strictObject({
  limit: Limit,
  after: Cursor.optional().describe('Messages after this cursor (continue an ascending listing)'),
  before: Cursor.optional().describe('Messages before this cursor (continue a descending listing)'),
  order: z.enum(['asc', 'desc']).default('asc').describe('asc = oldest first'),
  run_id: Id.optional().describe('Only messages written by this run'),
});
export type AgUiListMessagesQuery = z.infer<typeof AgUiListMessagesQuery>;

export const AgUiMessagePage = z
  .object({
    items: z.array(AgUiMessage).describe('AG-UI messages; one stored turn may give several (reasoning, assistant, one per tool result)'),
    next_cursor: NextCursor,
  })
  .meta({ id: 'AgUiMessagePage' });
export type AgUiMessagePage = z.infer<typeof AgUiMessagePage>;

/** The AG-UI events this server emits (each `data:` frame of the stream is one), for documentation. */
const ev = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) => z.object({ type: z.literal(type), ...shape });
const TokenUsage = z.object({
  provider: z.string().optional(),
  model: z.string().optional(),
  inputTokens: z.number().int().optional(),
  outputTokens: z.number().int().optional(),
  totalTokens: z.number().int().optional(),
  cachedInputTokens: z.number().int().optional(),
  cacheWriteInputTokens: z.number().int().optional(),
});
const JsonPatchOperation = z
  .object({ op: z.enum(['add', 'remove', 'replace', 'move', 'copy', 'test']), path: z.string(), from: z.string().optional(), value: z.unknown().optional() })
  .describe('RFC 6902 operation');
export const AgUiEvent = z
  .discriminatedUnion('type', [
    ev('RUN_STARTED', { threadId: z.string(), runId: z.string(), parentRunId: z.string().optional(), protocolVersion: z.string().optional() }),
    ev('STEP_STARTED', { stepName: z.string() }),
    ev('TEXT_MESSAGE_START', { messageId: z.string(), role: z.literal('assistant') }),
    ev('TEXT_MESSAGE_CONTENT', { messageId: z.string(), delta: z.string() }),
    ev('TEXT_MESSAGE_END', { messageId: z.string() }),
    ev('REASONING_START', { messageId: z.string() }),
    ev('REASONING_MESSAGE_START', { messageId: z.string(), role: z.literal('reasoning') }),
    ev('REASONING_MESSAGE_CONTENT', { messageId: z.string(), delta: z.string() }),
    ev('REASONING_MESSAGE_END', { messageId: z.string() }),
    ev('REASONING_END', { messageId: z.string() }),
    ev('TOOL_CALL_START', { toolCallId: z.string(), toolCallName: z.string(), parentMessageId: z.string().optional() }),
    ev('TOOL_CALL_ARGS', { toolCallId: z.string(), delta: z.string() }),
    ev('TOOL_CALL_END', { toolCallId: z.string() }),
    ev('TOOL_CALL_RESULT', { messageId: z.string(), toolCallId: z.string(), content: z.string(), role: z.literal('tool') }),
    ev('STATE_SNAPSHOT', { snapshot: z.unknown() }),
    ev('STATE_DELTA', { delta: z.array(JsonPatchOperation) }),
    ev('CUSTOM', { name: z.string(), value: z.unknown() }),
    ev('STEP_FINISHED', { stepName: z.string() }),
    ev('RUN_FINISHED', {
      threadId: z.string(),
      runId: z.string(),
      outcome: z
        .union([
          z.object({ type: z.literal('success'), pendingToolCallIds: z.array(z.string()).optional().describe('Frontend tool calls the client is to answer') }),
          z.object({ type: z.literal('cancelled') }),
        ])
        .optional(),
      usage: z.array(TokenUsage).optional(),
    }),
    ev('RUN_ERROR', { message: z.string(), code: z.string().optional(), usage: z.array(TokenUsage).optional() }),
  ])
  .describe('One AG-UI event (`@ag-ui/core` 1.x); frames are `data: <json>\\n\\n`, keep-alives are SSE comments')
  .meta({ id: 'AgUiEvent' });
export type AgUiEvent = z.infer<typeof AgUiEvent>;
