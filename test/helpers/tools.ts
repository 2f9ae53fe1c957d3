import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import type { FakeAnthropic } from '../fixtures/fake-anthropic.js';
import { postJson } from './http.js';

/** Drives one tool call through POST /v1/run: the fake model calls `name` with `input`, then says done. Returns the tool call record. */
export async function callTool(serverUrl: string, fake: FakeAnthropic, name: string, input: unknown, agent?: string): Promise<{ output: string; is_error: boolean; modelSaw: any }> {
  const before = fake.requests.length;
  fake.enqueue({ content: [{ type: 'tool_use', id: 'toolu_1', name, input }] }, { content: [{ type: 'text', text: 'done' }] });
  const { status, body } = await postJson(`${serverUrl}/v1/run`, { prompt: 'go', ...(agent ? { agent_id: agent } : {}) });
  if (status !== 200) throw new Error(`run failed: ${status} ${JSON.stringify(body)}`);
  const call = body.tool_calls[0];
  const modelSaw = fake.requests[before + 1]?.body.messages.at(-1).content[0];
  return { output: call.output, is_error: call.is_error, modelSaw };
}

/**
 * Several tool calls in ONE model turn (the runtime runs them concurrently). Returns the run's
 * tool call records in call order and the tool_result blocks the model got in its next request.
 */
export async function callTools(
  serverUrl: string,
  fake: FakeAnthropic,
  calls: Array<{ name: string; input: unknown }>,
  agent?: string,
): Promise<{ results: Array<{ id: string; name: string; output: string; is_error: boolean }>; modelSaw: any[] }> {
  const before = fake.requests.length;
  fake.enqueue(
    { content: calls.map((c, i) => ({ type: 'tool_use' as const, id: `toolu_${i + 1}`, name: c.name, input: c.input })) },
    { content: [{ type: 'text', text: 'done' }] },
  );
  const { status, body } = await postJson(`${serverUrl}/v1/run`, { prompt: 'go', ...(agent ? { agent_id: agent } : {}) });
  if (status !== 200) throw new Error(`run failed: ${status} ${JSON.stringify(body)}`);
  return { results: body.tool_calls, modelSaw: fake.requests[before + 1]?.body.messages.at(-1).content ?? [] };
}

/** The tool names the model was offered in the request at `index` (default: the latest). */
export function offeredTools(fake: FakeAnthropic, index = fake.requests.length - 1): string[] {
  return (fake.requests[index]?.body.tools ?? []).map((t: { name: string }) => t.name).sort();
}

/** A logger that keeps every record (for asserting on warnings). */
export function memoryLogger(): { logger: Logger; records: any[] } {
  const records: any[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void records.push(JSON.parse(line)) });
  return { logger, records };
}

/** Resolves once `check()` is truthy (polling), or rejects after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** True once process `pid` has exited (a zombie, not yet reaped by an init that does not reap, counts as exited). */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** The stdio MCP fixture as an agents-file `mcp_servers` entry (run by this Node with tsx, from the repository root). */
export function stdioFixture(extra: { env?: Record<string, string>; policy?: 'allow' | 'ask' | 'deny'; timeout_ms?: number } = {}) {
  return {
    command: process.execPath,
    args: ['--import', 'tsx', fileURLToPath(new URL('../fixtures/mcp-stdio-server.ts', import.meta.url))],
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    ...extra,
  };
}
