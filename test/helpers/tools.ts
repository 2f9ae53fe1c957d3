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

/** A logger that keeps every record (for asserting on warnings). */
export function memoryLogger(): { logger: Logger; records: any[] } {
  const records: any[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void records.push(JSON.parse(line)) });
  return { logger, records };
}
