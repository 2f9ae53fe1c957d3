import { z } from 'zod';
import { ListMessagesInput, ListThreadsInput, MessagePage, Thread, ThreadId, ThreadPage, ThreadSummaryPage, UpdateThreadMetadataInput } from '../../contracts/threads.js';
import { procedure, rest, router } from './init.js';

const tag = 'threads';

export const threadsRouter = router({
  list: procedure
    .meta(rest('GET', '/v1/threads', 'List threads, newest first', { tag, errors: [400] }))
    .input(ListThreadsInput)
    .output(ThreadPage)
    .query(({ ctx, input }) => ctx.threads.list(ctx.principal, input)),
  // Before `get`: REST matches routes in order and /v1/threads/{id} would take "summaries".
  summaries: procedure
    .meta(rest('GET', '/v1/threads/summaries', 'Thread summaries: message count and last message preview', { tag, errors: [400] }))
    .input(ListThreadsInput)
    .output(ThreadSummaryPage)
    .query(({ ctx, input }) => ctx.threads.summaries(ctx.principal, input)),
  get: procedure
    .meta(rest('GET', '/v1/threads/{id}', 'A thread with its metadata and state', { tag, errors: [400, 404] }))
    .input(ThreadId)
    .output(Thread)
    .query(({ ctx, input }) => ctx.threads.detail(ctx.principal, input.id)),
  messages: procedure
    .meta(rest('GET', '/v1/threads/{id}/messages', "A thread's messages", { tag, errors: [400, 404] }))
    .input(ListMessagesInput)
    .output(MessagePage)
    .query(({ ctx, input }) => ctx.threads.messages(ctx.principal, input)),
  updateMetadata: procedure
    .meta(
      rest('PATCH', '/v1/threads/{id}/metadata', "Merge-patch the thread's metadata", {
        tag,
        errors: [400, 404, 409, 413, 415],
        description: 'JSON merge patch (RFC 7396): `title` sets the title; other keys are set; a null value removes the key.',
      }),
    )
    .input(UpdateThreadMetadataInput)
    .output(Thread)
    .mutation(({ ctx, input }) => ctx.threads.updateMetadata(ctx.principal, input)),
  delete: procedure
    .meta(
      rest('DELETE', '/v1/threads/{id}', 'Delete a thread with its messages, runs and events', {
        tag,
        errors: [400, 404, 409],
        successStatus: 204,
        description: 'An active run on the thread is cancelled first, and the deletion waits for it to end.',
      }),
    )
    .input(ThreadId)
    .output(z.void())
    .mutation(async ({ ctx, input }) => {
      await ctx.threads.delete(ctx.principal, input.id);
    }),
});
