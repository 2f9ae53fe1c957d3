import { z } from 'zod';
import { Id } from './run.js';

/**
 * A2A route contracts, for the OpenAPI document. The wire types themselves
 * are the A2A protocol's (served by `@a2a-js/sdk`: v1.0, and v0.3 for clients that send
 * no `A2A-Version` header); these schemas describe the envelopes, not every A2A type.
 */

export const A2A_PROTOCOL_VERSIONS = ['1.0', '0.3'] as const;

/** JSON-RPC methods, v1.0 names first, then the v0.3 ones. */
export const A2A_METHODS = [
  'SendMessage',
  'SendStreamingMessage',
  'GetTask',
  'ListTasks',
  'CancelTask',
  'SubscribeToTask',
  'GetExtendedAgentCard',
  'message/send',
  'message/stream',
  'tasks/get',
  'tasks/cancel',
  'tasks/resubscribe',
] as const;

/** JSON-RPC / A2A error codes the endpoints answer with. */
export const A2A_ERROR_CODES = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  TASK_NOT_FOUND: -32001,
  TASK_NOT_CANCELABLE: -32002,
  PUSH_NOTIFICATION_NOT_SUPPORTED: -32003,
  UNSUPPORTED_OPERATION: -32004,
  CONTENT_TYPE_NOT_SUPPORTED: -32005,
  VERSION_NOT_SUPPORTED: -32009,
} as const;

export const A2aAgentParams = z.object({ agentId: Id.describe('A configured agent id (a skill id of the server card)') }).meta({ id: 'A2aAgentParams' });

export const A2aVersionHeader = z
  .object({
    'A2A-Version': z
      .enum(A2A_PROTOCOL_VERSIONS)
      .optional()
      .describe('Protocol version of the request; without it the request (and the card) is A2A v0.3. The @a2a-js/sdk v1 client sends 1.0.'),
  })
  .meta({ id: 'A2aVersionHeader' });

const JsonRpcId = z.union([z.string(), z.number().int(), z.null()]);

export const A2aJsonRpcRequest = z
  .object({
    jsonrpc: z.literal('2.0'),
    id: JsonRpcId.optional(),
    method: z.enum(A2A_METHODS).describe('v1.0 method names need `A2A-Version: 1.0`; v0.3 names are used without the header'),
    params: z.record(z.string(), z.unknown()).describe('The method\'s A2A request object, e.g. `{"message":{"messageId","role":"ROLE_USER","parts":[{"text":"hi"}],"contextId"?},"configuration"?:{"returnImmediately"}}` (v1.0), `{"id"}` for GetTask/CancelTask/SubscribeToTask'),
  })
  .meta({ id: 'A2aJsonRpcRequest' });
export type A2aJsonRpcRequest = z.infer<typeof A2aJsonRpcRequest>;

export const A2aJsonRpcError = z
  .object({
    jsonrpc: z.literal('2.0'),
    id: JsonRpcId,
    error: z.object({
      code: z.number().int().describe(`A2A/JSON-RPC code: ${Object.entries(A2A_ERROR_CODES).map(([k, v]) => `${v} ${k}`).join(', ')}`),
      message: z.string(),
      data: z.array(z.record(z.string(), z.unknown())).optional().describe('google.rpc.ErrorInfo details (v1.0)'),
    }),
  })
  .meta({ id: 'A2aJsonRpcError' });

export const A2aJsonRpcResult = z
  .object({
    jsonrpc: z.literal('2.0'),
    id: JsonRpcId.describe('The request id'),
    result: z.unknown().describe('SendMessage: `{"task":Task}`; GetTask/CancelTask: a Task; ListTasks: `{tasks,nextPageToken,pageSize,totalSize}` (v1.0); v0.3: the Task with `kind:"task"`'),
  })
  .meta({ id: 'A2aJsonRpcResult' });

export const A2aJsonRpcResponse = z.union([A2aJsonRpcResult, A2aJsonRpcError]).meta({ id: 'A2aJsonRpcResponse' });

/** One `data:` frame of a streaming method (SendStreamingMessage / SubscribeToTask, message/stream / tasks/resubscribe). */
export const A2aStreamFrame = z
  .object({
    jsonrpc: z.literal('2.0'),
    id: JsonRpcId.describe('The request id'),
    result: z
      .record(z.string(), z.unknown())
      .describe('v1.0: `{"task":…}` first, then `{"statusUpdate":…}` / `{"artifactUpdate":…}` (answer text as chunks with `append`/`lastChunk`); v0.3: the same objects with `kind` task / status-update / artifact-update'),
  })
  .meta({ id: 'A2aStreamFrame' });

const A2aSkill = z.object({ id: z.string(), name: z.string(), description: z.string(), tags: z.array(z.string()) }).loose();

export const A2aAgentCard = z
  .object({
    name: z.string(),
    description: z.string(),
    version: z.string(),
    supportedInterfaces: z
      .array(z.object({ url: z.string(), protocolBinding: z.string(), protocolVersion: z.string() }).loose())
      .optional()
      .describe('v1.0 card (request with `A2A-Version: 1.0`): the JSON-RPC endpoint, once per protocol version'),
    url: z.string().optional().describe('v0.3 card (no `A2A-Version` header): the JSON-RPC endpoint'),
    protocolVersion: z.string().optional().describe('v0.3 card only'),
    capabilities: z.object({ streaming: z.boolean().optional(), pushNotifications: z.boolean().optional() }).loose(),
    defaultInputModes: z.array(z.string()),
    defaultOutputModes: z.array(z.string()),
    skills: z.array(A2aSkill).describe('One per configured agent'),
  })
  .loose()
  .meta({ id: 'A2aAgentCard' });
