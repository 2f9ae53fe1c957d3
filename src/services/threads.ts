import type { ListMessagesInput, Message, ListThreadsInput, ThreadSummary, UpdateThreadMetadataInput } from '../../contracts/threads.js';
import { AppError } from '../errors.js';
import type { StoredMessage } from '../store/messages.js';
import type { Store } from '../store/store.js';
import type { ThreadRecord } from '../store/threads.js';
import { canSee, ownerFilter, visibleThread, type Principal } from './access.js';
import { mergePatch } from './merge-patch.js';
import type { RunService } from './runs.js';
import type { UsageService } from './usage.js';

const PREVIEW_CHARS = 200;
const MAX_METADATA_BYTES = 64 * 1024;

/** Threads and their messages, for every API surface; another principal's thread is 404 like an unknown one. */
export class ThreadService {
  constructor(
    private readonly store: Store,
    private readonly runs: RunService,
    private readonly usage?: UsageService,
  ) {}

  list(principal: Principal, input: ListThreadsInput) {
    return this.store.threads.page({ limit: input.limit, cursor: input.cursor, agentId: input.agent_id, title: input.title, owner: ownerFilter(principal, input.owner) });
  }

  async summaries(principal: Principal, input: ListThreadsInput): Promise<{ items: ThreadSummary[]; next_cursor: string | null }> {
    const page = await this.list(principal, input);
    const stats = await this.store.messages.stats(page.items.map((t) => t.id));
    const items = page.items.map((t): ThreadSummary => {
      const s = stats.get(t.id);
      return {
        id: t.id,
        agent_id: t.agent_id,
        title: t.title,
        owner: t.owner,
        created_at: t.created_at,
        updated_at: t.updated_at,
        message_count: s?.count ?? 0,
        last_message: s?.last ? { role: s.last.role, preview: preview(s.last), created_at: s.last.created_at } : null,
      };
    });
    return { items, next_cursor: page.next_cursor };
  }

  /** The thread if the caller may see it, else undefined (unknown and foreign look the same). */
  async find(principal: Principal, id: string): Promise<ThreadRecord | undefined> {
    const thread = await this.store.threads.get(id);
    return thread && canSee(principal, thread.owner) ? thread : undefined;
  }

  async get(principal: Principal, id: string): Promise<ThreadRecord> {
    return visibleThread(principal, await this.store.threads.get(id), id);
  }

  /** The thread as GET /v1/threads/{id} shows it: with the usage of its runs. */
  async detail(principal: Principal, id: string): Promise<ThreadRecord & { usage?: Awaited<ReturnType<UsageService['thread']>> }> {
    const thread = await this.get(principal, id);
    return this.usage ? { ...thread, usage: await this.usage.thread(id) } : thread;
  }

  async messages(principal: Principal, input: ListMessagesInput): Promise<{ items: Message[]; next_cursor: string | null }> {
    await this.get(principal, input.id);
    const page = await this.store.messages.page(input.id, { limit: input.limit, after: input.after, before: input.before, order: input.order, runId: input.run_id });
    // Stored content is Anthropic's block list; the output schema checks each block's shape.
    return { items: page.items.map((m) => ({ ...m, content: m.content as Message['content'] })), next_cursor: page.next_cursor };
  }

  async updateMetadata(principal: Principal, { id, title, ...patch }: UpdateThreadMetadataInput): Promise<ThreadRecord> {
    await this.get(principal, id);
    const updated = await this.store.threads.update(id, (t) => {
      const metadata = mergePatch(t.metadata, patch);
      if (Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES) {
        throw new AppError('bad_request', `thread metadata must stay under ${MAX_METADATA_BYTES} bytes of JSON`);
      }
      return { title: title === undefined ? t.title : title, metadata };
    });
    if (!updated) throw new AppError('not_found', `unknown thread "${id}"`);
    return updated;
  }

  /** Cancels the thread's active runs (waiting for them to end), then deletes it with everything in it. */
  async delete(principal: Principal, id: string): Promise<void> {
    await this.get(principal, id);
    // Re-check: a run may have been queued on the thread while the others wound down.
    for (let pass = 0; ; pass++) {
      const active = await this.store.runs.activeIds(id);
      if (active.length === 0) break;
      if (pass >= 20) throw new AppError('conflict', `thread "${id}" has an active run that this server cannot cancel`);
      await this.runs.cancelAndWait(active);
      // Active but not live here: being registered, or run by another instance; give it a moment.
      if (!active.some((r) => this.runs.isLive(r))) await new Promise((r) => setTimeout(r, 50));
    }
    // No buffered event may land after its run is gone.
    await this.store.events.flush();
    if (!(await this.store.threads.delete(id))) throw new AppError('not_found', `unknown thread "${id}"`);
  }
}

/** The message's text, or the kinds of its blocks when it has none (tool calls and results). */
function preview(m: StoredMessage): string {
  const blocks = m.content as Array<{ type?: string; text?: string }>;
  const text = blocks
    .filter((b) => b.type === 'text' && typeof b.text === 'string')
    .map((b) => b.text)
    .join(' ')
    .trim();
  const shown = text || blocks.map((b) => `[${b.type ?? 'block'}]`).join(' ');
  return shown.length > PREVIEW_CHARS ? `${shown.slice(0, PREVIEW_CHARS - 1)}…` : shown;
}
