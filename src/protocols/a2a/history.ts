import { Buffer } from 'node:buffer';
import { Role, type Message, type Part } from '@a2a-js/sdk';
import { textPart, type TaskIds } from './mapper.js';

/** Stored turns → A2A messages (a task's history). */

type Block = { type?: string; text?: string; source?: { type?: string; media_type?: string; data?: string; url?: string } };

/** A stored user turn → an A2A user message (null when it holds only tool results). */
export function userMessageFromContent(ids: TaskIds, messageId: string, content: unknown[]): Message | null {
  const parts: Part[] = [];
  for (const raw of content as Block[]) {
    if (raw?.type === 'text' && typeof raw.text === 'string') parts.push(textPart(raw.text));
    else if ((raw?.type === 'image' || raw?.type === 'document') && raw.source) {
      const mediaType = raw.source.media_type ?? (raw.type === 'document' ? 'application/pdf' : '');
      if (raw.source.type === 'base64' && raw.source.data) {
        parts.push({ content: { $case: 'raw', value: Buffer.from(raw.source.data, 'base64') }, metadata: undefined, filename: '', mediaType });
      } else if (raw.source.type === 'url' && raw.source.url) {
        parts.push({ content: { $case: 'url', value: raw.source.url }, metadata: undefined, filename: '', mediaType });
      }
    }
  }
  if (parts.length === 0) return null;
  return { messageId, contextId: ids.contextId, taskId: ids.taskId, role: Role.ROLE_USER, parts, metadata: undefined, extensions: [], referenceTaskIds: [] };
}

