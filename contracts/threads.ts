import { z } from 'zod';
import { Timestamp } from './common.js';
import { UsageTotals } from './usage.js';
import { Cursor, Limit, page } from './pagination.js';
import { Id } from './run.js';


export const Thread = z
  .object({
    id: z.string(),
    agent_id: z.string().describe('Agent of the run that created the thread'),
    title: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()).describe('Free-form keys set with PATCH …/metadata'),
    state: z.unknown().describe('Shared state (AG-UI), null when none'),
    owner: z.string().nullable().describe('The principal the thread belongs to: an API key name, `user:<sub>`, or `local` without auth (null: stored before access control)'),
    created_at: Timestamp,
    updated_at: Timestamp,
    usage: UsageTotals.optional().describe('GET /v1/threads/{id} only: the model usage of all its runs'),
  })
  .meta({ id: 'Thread' });
export type Thread = z.infer<typeof Thread>;

export const ThreadSummary = z
  .object({
    id: z.string(),
    agent_id: z.string(),
    title: z.string().nullable(),
    owner: z.string().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
    message_count: z.number().int().nonnegative(),
    last_message: z
      .object({
        role: z.enum(['user', 'assistant']),
        preview: z.string().describe('Start of the message text (at most 200 characters)'),
        created_at: Timestamp,
      })
      .nullable(),
  })
  .meta({ id: 'ThreadSummary' });
export type ThreadSummary = z.infer<typeof ThreadSummary>;

/** Anthropic Messages API content block: the runtime stores turns in that shape. */
export const ContentBlock = z
  .looseObject({ type: z.string().describe('text, tool_use, tool_result, thinking, …') })
  .meta({ id: 'ContentBlock' });

export const Message = z
  .object({
    id: z.string(),
    thread_id: z.string(),
    run_id: z.string().nullable(),
    position: z.number().int().nonnegative().describe('Order within the thread'),
    role: z.enum(['user', 'assistant']),
    content: z.array(ContentBlock),
    created_at: Timestamp,
  })
  .meta({ id: 'Message' });
export type Message = z.infer<typeof Message>;

export const ThreadPage = page(Thread, 'ThreadPage');
export const ThreadSummaryPage = page(ThreadSummary, 'ThreadSummaryPage');
export const MessagePage = page(Message, 'MessagePage');

export const ThreadId = z.strictObject({ id: Id });

export const ListThreadsInput = z.strictObject({
  limit: Limit,
  cursor: Cursor.optional(),
  agent_id: Id.optional().describe('Only threads of this agent'),
  title: z.string().min(1).max(200).optional().describe('Only threads whose title contains this text (case-insensitive)'),
  owner: z.string().min(1).max(200).optional().describe('Admins only: threads of this principal (others always see only their own)'),
});
export type ListThreadsInput = z.infer<typeof ListThreadsInput>;

export const ListMessagesInput = z.strictObject({
  id: Id,
  limit: Limit,
  after: Cursor.optional().describe('Messages after this cursor (continue an ascending listing)'),
  before: Cursor.optional().describe('Messages before this cursor (continue a descending listing)'),
  order: z.enum(['asc', 'desc']).default('asc').describe('asc = oldest first'),
  run_id: Id.optional().describe('Only messages written by this run'),
});
export type ListMessagesInput = z.infer<typeof ListMessagesInput>;

/**
 * JSON merge patch (RFC 7396) of the thread's metadata: `title` sets the title,
 * any other key is set, a null value removes the key.
 */
export const UpdateThreadMetadataInput = z
  .object({
    id: Id,
    title: z.string().max(500, 'title must be at most 500 characters').nullable().optional(),
  })
  .catchall(z.unknown());
export type UpdateThreadMetadataInput = z.infer<typeof UpdateThreadMetadataInput>;
