// The streaming route of each protocol, as its client calls it: one new thread per request, so
// runs never queue behind each other; the floor gets the Messages API body it passes through.
import { randomUUID } from 'node:crypto';

export interface BenchRoute {
  name: string;
  method: 'GET' | 'POST';
  /** Path and body of one request (fresh ids each time). */
  request(prompt: string): { path: string; body?: string };
  /** Whether the answer streams (the blocking lean route does not). */
  streamed: boolean;
}

const json = (v: unknown) => JSON.stringify(v);

export const FLOOR: BenchRoute = {
  name: 'floor (node pipe)',
  method: 'POST',
  streamed: true,
  request: (prompt) => ({ path: '/v1/messages', body: json({ model: 'bench-model', max_tokens: 1024, stream: true, messages: [{ role: 'user', content: prompt }] }) }),
};

export const ROUTES: Record<string, BenchRoute> = {
  lean: { name: 'lean POST /v1/run/stream', method: 'POST', streamed: true, request: (prompt) => ({ path: '/v1/run/stream', body: json({ prompt }) }) },
  'lean-blocking': { name: 'lean POST /v1/run', method: 'POST', streamed: false, request: (prompt) => ({ path: '/v1/run', body: json({ prompt }) }) },
  rest: { name: 'REST POST /v1/runs', method: 'POST', streamed: true, request: (prompt) => ({ path: '/v1/runs', body: json({ prompt }) }) },
  'ag-ui': {
    name: 'AG-UI',
    method: 'POST',
    streamed: true,
    request: (prompt) => ({
      path: '/v1/ag-ui/agents/assistant/runs',
      body: json({ threadId: randomUUID(), runId: randomUUID(), state: {}, messages: [{ id: randomUUID(), role: 'user', content: prompt }], tools: [], context: [], forwardedProps: {} }),
    }),
  },
  'ai-sdk': {
    name: 'AI SDK',
    method: 'POST',
    streamed: true,
    request: (prompt) => ({
      path: '/v1/ai-sdk/agents/assistant/runs',
      body: json({ id: `chat-${randomUUID()}`, trigger: 'submit-message', messages: [{ id: randomUUID(), role: 'user', parts: [{ type: 'text', text: prompt }] }] }),
    }),
  },
  a2a: {
    name: 'A2A message/stream',
    method: 'POST',
    streamed: true,
    request: (prompt) => ({
      path: '/v1/a2a',
      body: json({ jsonrpc: '2.0', id: 1, method: 'message/stream', params: { message: { kind: 'message', messageId: randomUUID(), role: 'user', parts: [{ kind: 'text', text: prompt }] } } }),
    }),
  },
  trpc: {
    name: 'tRPC runs.start',
    method: 'GET',
    streamed: true,
    request: (prompt) => ({ path: `/trpc/runs.start?input=${encodeURIComponent(json({ prompt }))}` }),
  },
};
