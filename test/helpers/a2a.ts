import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Role, type Message, type SendMessageConfiguration, type SendMessageRequest, type StreamResponse, type Task } from '@a2a-js/sdk';

export function message(text: string, opts: { contextId?: string; taskId?: string; messageId?: string; metadata?: Record<string, unknown> } = {}): Message {
  return {
    messageId: opts.messageId ?? randomUUID(),
    contextId: opts.contextId ?? '',
    taskId: opts.taskId ?? '',
    role: Role.ROLE_USER,
    parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }],
    metadata: opts.metadata,
    extensions: [],
    referenceTaskIds: [],
  };
}

export function send(m: Message, configuration: Partial<SendMessageConfiguration> = {}, metadata?: Record<string, unknown>): SendMessageRequest {
  return {
    tenant: '',
    message: m,
    configuration: { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: false, ...configuration },
    metadata,
  };
}

export const asTask = (r: Message | Task): Task => {
  assert.ok('status' in r, 'the result is a task');
  return r as Task;
};
export const textOf = (parts: Array<{ content?: { $case: string; value?: unknown } }> | undefined) =>
  (parts ?? []).map((p) => (p.content?.$case === 'text' ? String(p.content.value) : '')).join('');
export const artifactText = (t: Task) => t.artifacts.map((a) => textOf(a.parts)).join('');
/** The text of a stream's artifact updates, in order. */
export const streamedText = (events: StreamResponse[]) => events.flatMap((e) => (e.payload?.$case === 'artifactUpdate' ? [textOf(e.payload.value.artifact!.parts)] : [])).join('');

export async function collect(stream: AsyncIterable<StreamResponse>): Promise<StreamResponse[]> {
  const out: StreamResponse[] = [];
  for await (const e of stream) out.push(e);
  return out;
}

