import { z } from 'zod';
import { Id, TimeoutMs, runStartOptions } from './run.js';

/**
 * AI SDK v6 (`ai` 6.x, `useChat` + `DefaultChatTransport`) request contracts.
 * The wire types of the stream itself are the `ai` package's own (`UIMessageChunk`);
 * these schemas describe what the server accepts and are referenced by the OpenAPI document.
 */

const TOOL_STATES = ['input-streaming', 'input-available', 'approval-requested', 'approval-responded', 'output-available', 'output-error', 'output-denied'] as const;

export const AiSdkTextPart = z.object({ type: z.literal('text'), text: z.string() }).loose();
export const AiSdkReasoningPart = z.object({ type: z.literal('reasoning'), text: z.string() }).loose();
export const AiSdkFilePart = z
  .object({ type: z.literal('file'), mediaType: z.string().min(1), url: z.string().min(1), filename: z.string().optional() })
  .loose()
  .describe('An http(s) URL or a data URL; images and PDFs are given to the model');
export const AiSdkToolPart = z
  .object({
    type: z.string().regex(/^tool-.+/, 'must be "tool-<name>"'),
    toolCallId: z.string().min(1),
    state: z.enum(TOOL_STATES),
    input: z.unknown().optional(),
    output: z.unknown().optional(),
    errorText: z.string().optional(),
    approval: z.object({ id: z.string(), approved: z.boolean().optional(), reason: z.string().optional() }).loose().optional(),
  })
  .loose()
  .describe('A tool invocation (`tool-<name>`); `output-available`/`output-error` answer a client-side tool call');
export const AiSdkDynamicToolPart = AiSdkToolPart.extend({ type: z.literal('dynamic-tool'), toolName: z.string().min(1) });

/** Part schemas by type; other part types (step-start, source-*, data-*, …) are accepted and ignored. */
function partSchema(type: string): z.ZodType | undefined {
  if (type === 'text') return AiSdkTextPart;
  if (type === 'reasoning') return AiSdkReasoningPart;
  if (type === 'file') return AiSdkFilePart;
  if (type === 'dynamic-tool') return AiSdkDynamicToolPart;
  if (type.startsWith('tool-')) return AiSdkToolPart;
  return undefined;
}

export const AiSdkMessagePart = z
  .object({ type: z.string().min(1) })
  .loose()
  .superRefine((part, ctx) => {
    const schema = partSchema(part.type);
    const r = schema?.safeParse(part);
    if (r && !r.success) for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  })
  .describe('A UIMessage part: text, reasoning, file, tool-<name>, dynamic-tool, step-start, source-*, data-* (see the `ai` package)')
  .meta({ id: 'AiSdkMessagePart' });

export const AiSdkUIMessage = z
  .object({
    id: z.string().min(1).max(200).optional().describe('Message id; the server appends a user message whose id it does not hold yet'),
    role: z.enum(['system', 'user', 'assistant']),
    parts: z.array(AiSdkMessagePart).optional(),
    content: z.string().optional().describe('Shorthand for one text part (curl); ignored when `parts` is given'),
    metadata: z.unknown().optional(),
  })
  .loose()
  .refine((m) => m.parts !== undefined || m.content !== undefined, { message: 'a message needs `parts` (or `content`)', path: ['parts'] })
  .meta({ id: 'AiSdkUIMessage' });
export type AiSdkUIMessage = z.infer<typeof AiSdkUIMessage>;

export const AiSdkClientTool = z
  .strictObject({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'),
    description: z.string().optional(),
    inputSchema: z
      .record(z.string(), z.unknown())
      .refine((s) => s.type === undefined || s.type === 'object', 'must be a JSON Schema with "type": "object"')
      .optional()
      .describe('JSON Schema of the input; default {"type":"object"}'),
  })
  .meta({ id: 'AiSdkClientTool' });
export type AiSdkClientTool = z.infer<typeof AiSdkClientTool>;

/**
 * Body of POST /v1/ai-sdk/agents/:agentId/runs: what `DefaultChatTransport` posts, plus
 * optional extensions a client adds through the transport's `body`. Unknown fields are allowed
 * (the transport merges arbitrary `body` fields in).
 */
export const AiSdkRunRequest = z
  .object({
    id: Id.describe('Chat id = thread id'),
    messages: z.array(AiSdkUIMessage).min(1, 'messages must not be empty'),
    trigger: z.enum(['submit-message', 'regenerate-message']).default('submit-message'),
    messageId: z.string().optional().describe('The message the trigger refers to (edited user message, continued assistant message, regenerated message)'),
    tools: z.array(AiSdkClientTool).max(128).optional().describe('Tools the client executes: a call ends the run with finishReason "tool-calls"; send the output back as the tool part in state "output-available"'),
    runId: Id.optional().describe('Caller-chosen run id; 409 if taken'),
    timeout_ms: TimeoutMs.optional(),
    ...runStartOptions,
  })
  .loose()
  .meta({ id: 'AiSdkRunRequest' });
export type AiSdkRunRequest = z.infer<typeof AiSdkRunRequest>;

export const AiSdkRunParams = z.object({ agentId: Id });
export const AiSdkChatParams = z.object({ agentId: Id, chatId: Id });

/** GET /v1/ai-sdk/agents/:agentId/chats/:chatId/messages: the chat as UIMessages (to hydrate `useChat`). */
export const AiSdkChatMessages = z
  .object({ id: z.string(), messages: z.array(z.object({ id: z.string(), role: z.enum(['user', 'assistant']), parts: z.array(AiSdkMessagePart), metadata: z.unknown().optional() })) })
  .meta({ id: 'AiSdkChatMessages' });

/** One `data:` frame of the UI message stream (the `ai` package's `UIMessageChunk`), for documentation. */
export const AiSdkStreamChunk = z
  .object({ type: z.string() })
  .loose()
  .describe(
    'UI message stream v1 chunk: start, start-step, text-start/delta/end, reasoning-start/delta/end, tool-input-start/delta/available, tool-output-available, tool-output-error, tool-approval-request, finish-step, data-state, data-context-compacted, message-metadata, finish, error, abort; the last frame is `data: [DONE]`',
  )
  .meta({ id: 'AiSdkStreamChunk' });
