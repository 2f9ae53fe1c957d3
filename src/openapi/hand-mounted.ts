import { z } from 'zod';
import type { ZodOpenApiPathsObject, ZodOpenApiResponseObject } from 'zod-openapi';
import { ErrorBody } from '../../contracts/common.js';
import { RunEvent } from '../../contracts/events.js';
import { Health, Ready, StreamToken } from '../../contracts/health.js';
import { Id, RunRequest, RunResult } from '../../contracts/run.js';
import { Run, RunEventsQuery, RunWaitQuery, StartRunRequest } from '../../contracts/runs.js';
import { LeanStreamEvent } from '../../contracts/streams.js';
import { A2aAgentCard, A2aAgentParams, A2aJsonRpcError, A2aJsonRpcRequest, A2aJsonRpcResponse, A2aStreamFrame, A2aVersionHeader } from '../../contracts/a2a.js';
import { AgUiAgentParams, AgUiEvent, AgUiListMessagesQuery, AgUiMessagePage, AgUiRunRequest, AgUiThreadParams } from '../../contracts/ag-ui.js';
import { AiSdkChatMessages, AiSdkChatParams, AiSdkRunParams, AiSdkRunRequest, AiSdkStreamChunk } from '../../contracts/ai-sdk.js';

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input (`issues` lists each problem)',
  401: 'Missing or invalid credential (`WWW-Authenticate: Bearer`)',
  403: 'Refused: a non-loopback client while no credentials are configured, or a cross-origin browser request',
  404: 'Unknown thread, run, agent or route',
  408: 'The request body did not arrive in time',
  409: 'Conflict (e.g. the run is not active, or was cancelled); `thread_busy`: multitask_strategy `reject` and the thread has a queued or running run',
  413: 'Request body larger than 1 MiB',
  415: 'Content type is not application/json',
  429: 'Rate limit (`rate_limited`) or daily token budget (`budget_exceeded`) reached; `Retry-After` and `RateLimit-Limit`/`-Remaining`/`-Reset` say when to retry',
  502: 'The model API failed',
  503: 'Shutting down, or no model credentials',
  504: 'The run timed out',
};

/**
 * Error responses, all with the one error body: the zod `ErrorBody` in zod-openapi input,
 * or a `$ref` to its component when patching an already rendered document.
 */
export function errorResponses<S>(statuses: number[], schema: S) {
  return Object.fromEntries(statuses.map((s) => [String(s), { description: ERROR_DESCRIPTIONS[s] ?? 'Error', content: { 'application/json': { schema } } }]));
}

const errors = (statuses: number[]) => errorResponses(statuses, ErrorBody);

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });

const eventStream = (schema: z.ZodType, description: string): ZodOpenApiResponseObject => ({
  description,
  content: { 'text/event-stream': { schema } },
});

const RUN_ERRORS = [400, 404, 409, 413, 415, 429, 502, 503, 504];

/** Routes mounted by hand (not procedures), described from the same contracts. */
export const handMountedPaths: ZodOpenApiPathsObject = {
  '/health': {
    get: {
      operationId: 'health',
      tags: ['meta'],
      summary: 'Liveness',
      responses: { 200: { description: 'The server is up', content: json(Health) } },
    },
  },
  '/ready': {
    get: {
      operationId: 'ready',
      tags: ['meta'],
      summary: 'Readiness: the database answers and the server is not draining',
      responses: { 200: { description: 'Ready to serve', content: json(Ready) }, ...errors([503]) },
    },
  },
  '/v1/auth/stream-token': {
    post: {
      operationId: 'stream-token',
      tags: ['meta'],
      summary: 'A short-lived token for a browser EventSource (`?access_token=` on GET event streams)',
      responses: { 200: { description: 'The token, for the caller itself', content: json(StreamToken) } },
    },
  },
  '/v1/run': {
    post: {
      operationId: 'run',
      tags: ['run'],
      summary: 'Run an agent and wait for its result',
      requestBody: { required: true, content: json(RunRequest) },
      responses: {
        200: { description: 'The run completed', content: json(RunResult) },
        202: { description: '`background: true`: the run record at once (`queued` or `running`)', content: json(Run) },
        ...errors(RUN_ERRORS),
      },
    },
  },
  '/v1/run/stream': {
    post: {
      operationId: 'run-stream',
      tags: ['run'],
      summary: 'Run an agent and stream its events',
      requestBody: { required: true, content: json(RunRequest) },
      responses: {
        200: eventStream(
          LeanStreamEvent,
          'Server-sent events, one `data:` JSON frame each: a ping first and every 15 s, then the canonical events; the first and the terminal event carry `session_id` and `run_id`.',
        ),
        202: { description: '`background: true`: the run record at once, no stream', content: json(Run) },
        ...errors([400, 404, 409, 413, 415, 429, 503]),
      },
    },
  },
  '/v1/runs': {
    post: {
      operationId: 'runs-start',
      tags: ['runs'],
      summary: 'Start a run and stream its canonical events',
      requestBody: { required: true, content: json(StartRunRequest) },
      responses: {
        200: eventStream(RunEvent, 'Server-sent events: `id: <seq>` and `data: <RunEvent>` per event, ending after `run.finished` or `run.error`; `: ping` comments keep it alive.'),
        202: { description: '`background: true`: the run record at once (`queued` or `running`); poll `GET /v1/runs/{id}`, wait on `/wait`, follow `/events`', content: json(Run) },
        ...errors([400, 404, 409, 413, 415, 429, 503]),
      },
    },
  },
  '/v1/runs/{id}/wait': {
    get: {
      operationId: 'runs-wait',
      tags: ['runs'],
      summary: 'Wait until a run ends (or waits for input)',
      description: 'Answers the run record once its status is final or `waiting`; when `timeout` seconds pass first, 408 with the record as it is (not the error body).',
      requestParams: { path: z.object({ id: Id }), query: RunWaitQuery },
      responses: {
        200: { description: 'The run has ended or waits for input', content: json(Run) },
        408: { description: 'Still queued or running after `timeout`: the run as it is', content: json(Run) },
        ...errors([400, 404]),
      },
    },
  },
  '/v1/runs/{id}/events': {
    get: {
      operationId: 'runs-events',
      tags: ['runs'],
      summary: "Replay a run's events, then follow it live until it ends",
      requestParams: {
        path: z.object({ id: Id }),
        query: RunEventsQuery,
        header: z.object({ 'last-event-id': z.string().optional().describe('Resume after this seq (sent by EventSource on reconnect); wins over `after`') }),
      },
      responses: {
        200: eventStream(RunEvent, 'Server-sent events: `id: <seq>` and `data: <RunEvent>` per event with seq greater than the one given; ends after the terminal event.'),
        ...errors([400, 404]),
      },
    },
  },
  '/v1/ag-ui/agents/{agentId}/runs': {
    post: {
      operationId: 'ag-ui-run',
      tags: ['ag-ui'],
      summary: 'Run an agent (AG-UI RunAgentInput → AG-UI event stream)',
      requestParams: { path: AgUiAgentParams },
      requestBody: { required: true, content: json(AgUiRunRequest) },
      responses: {
        200: eventStream(AgUiEvent, '`data: <AG-UI event>` frames; `: ping` comments; ends after RUN_FINISHED or RUN_ERROR'),
        ...errors([400, 404, 409, 413, 415, 429, 503]),
      },
    },
  },
  '/v1/ag-ui/threads/{id}/messages': {
    get: {
      operationId: 'ag-ui-thread-messages',
      tags: ['ag-ui'],
      summary: 'The thread as AG-UI messages',
      requestParams: { path: AgUiThreadParams, query: AgUiListMessagesQuery },
      responses: { 200: { description: 'A page of messages', content: json(AgUiMessagePage) }, ...errors([400, 404]) },
    },
  },
  '/v1/ai-sdk/agents/{agentId}/runs': {
    post: {
      operationId: 'ai-sdk-run',
      tags: ['ai-sdk'],
      summary: 'Run an agent (what DefaultChatTransport posts → UI message stream v1)',
      requestParams: { path: AiSdkRunParams },
      requestBody: { required: true, content: json(AiSdkRunRequest) },
      responses: {
        200: eventStream(AiSdkStreamChunk, 'UI message stream v1 (header `x-vercel-ai-ui-message-stream: v1`); last frame `data: [DONE]`'),
        ...errors([400, 404, 409, 413, 415, 429, 503]),
      },
    },
  },
  '/v1/ai-sdk/agents/{agentId}/chats/{chatId}/stream': {
    get: {
      operationId: 'ai-sdk-resume',
      tags: ['ai-sdk'],
      summary: "Resume the chat's active run",
      requestParams: { path: AiSdkChatParams },
      responses: {
        200: eventStream(AiSdkStreamChunk, 'The active run from its first chunk, then live; last frame `data: [DONE]`'),
        204: { description: 'The chat has no active run' },
        ...errors([400, 404]),
      },
    },
  },
  '/v1/ai-sdk/agents/{agentId}/runs/{chatId}/stream': {
    get: {
      operationId: 'ai-sdk-resume-default',
      tags: ['ai-sdk'],
      summary: "Resume the chat's active run (the path DefaultChatTransport reconnects to by default)",
      requestParams: { path: AiSdkChatParams },
      responses: {
        200: eventStream(AiSdkStreamChunk, 'The active run from its first chunk, then live; last frame `data: [DONE]`'),
        204: { description: 'The chat has no active run' },
        ...errors([400, 404]),
      },
    },
  },
  '/v1/ai-sdk/agents/{agentId}/chats/{chatId}/messages': {
    get: {
      operationId: 'ai-sdk-messages',
      tags: ['ai-sdk'],
      summary: 'The chat as UIMessages (to hydrate useChat after a reload)',
      requestParams: { path: AiSdkChatParams },
      responses: { 200: { description: 'The chat', content: json(AiSdkChatMessages) }, ...errors([400, 404]) },
    },
  },
  ...Object.fromEntries(
    ['/.well-known/agent-card.json', '/v1/a2a/.well-known/agent-card.json'].map((path, i) => [
      path,
      {
        get: {
          operationId: i === 0 ? 'a2a-card' : 'a2a-card-v1',
          tags: ['a2a'],
          summary: 'A2A agent card of the server (skills = the configured agents)',
          requestParams: { header: A2aVersionHeader },
          responses: { 200: { description: 'The card', content: json(A2aAgentCard) }, 304: { description: 'Not modified (If-None-Match)' } },
        },
      },
    ]),
  ),
  '/v1/a2a/agents/{agentId}/.well-known/agent-card.json': {
    get: {
      operationId: 'a2a-agent-card',
      tags: ['a2a'],
      summary: 'A2A agent card of one agent',
      requestParams: { path: A2aAgentParams, header: A2aVersionHeader },
      responses: { 200: { description: 'The card', content: json(A2aAgentCard) }, 304: { description: 'Not modified (If-None-Match)' }, ...errors([404]) },
    },
  },
  ...Object.fromEntries(
    [
      ['/v1/a2a', 'a2a-rpc', undefined],
      ['/v1/a2a/agents/{agentId}', 'a2a-agent-rpc', A2aAgentParams],
    ].map(([path, operationId, params]) => [
      path as string,
      {
        post: {
          operationId: operationId as string,
          tags: ['a2a'],
          summary: 'A2A JSON-RPC 2.0 (send, stream, get, cancel, resubscribe)',
          requestParams: { header: A2aVersionHeader, ...(params ? { path: params as typeof A2aAgentParams } : {}) },
          requestBody: { required: true, content: json(A2aJsonRpcRequest) },
          responses: {
            200: {
              description: 'JSON-RPC response, or for streaming methods an SSE stream of JSON-RPC responses',
              content: { ...json(A2aJsonRpcResponse), 'text/event-stream': { schema: A2aStreamFrame } },
            },
            413: { description: 'Request body too large', content: json(A2aJsonRpcError) },
            ...errors([404]),
          },
        },
      },
    ]),
  ),
};
