import type { RunStatus, ToolCall, Usage } from '../../contracts/common.js';
import type { Db } from '../db/dialect.js';

export interface RunInput {
  prompt?: string;
  [k: string]: unknown;
}

export interface RunRecord {
  id: string;
  thread_id: string;
  agent_id: string;
  origin: string;
  status: RunStatus;
  input: RunInput;
  stop_reason: string | null;
  output: string | null;
  usage: Usage | null;
  tool_calls: ToolCall[] | null;
  error: { code: string; message: string } | null;
  timeout_ms: number;
  owner: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export const ACTIVE_STATUSES: RunStatus[] = ['queued', 'running'];

export interface RunEnd {
  status: RunStatus;
  stop_reason: string | null;
  output: string | null;
  usage: Usage;
  tool_calls: ToolCall[];
  error: { code: string; message: string } | null;
}

export class RunRepo {
  constructor(private readonly db: Db) {}

  async create(r: Pick<RunRecord, 'id' | 'thread_id' | 'agent_id' | 'origin' | 'input' | 'timeout_ms' | 'owner' | 'created_at'>): Promise<void> {
    await this.db.kysely
      .insertInto('runs')
      .values({ ...r, status: 'queued', input: JSON.stringify(r.input), stop_reason: null, output: null, usage: null, tool_calls: null, error: null, started_at: null, finished_at: null })
      .execute();
  }

  async markRunning(id: string, now = new Date().toISOString()): Promise<void> {
    await this.db.kysely.updateTable('runs').set({ status: 'running', started_at: now }).where('id', '=', id).execute();
  }

  async get(id: string): Promise<RunRecord | undefined> {
    const row = await this.db.kysely.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
    return row && this.toRecord(row);
  }

  /** Runs a crashed process left active can never finish: mark them so nobody waits on them. */
  async interruptOrphans(now = new Date().toISOString()): Promise<number> {
    const res = await this.db.kysely
      .updateTable('runs')
      .set({ status: 'interrupted', finished_at: now, error: JSON.stringify({ code: 'interrupted', message: 'the server stopped while this run was active' }) })
      .where('status', 'in', ACTIVE_STATUSES)
      .executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  toRecord(row: Record<string, any>): RunRecord {
    const j = this.db.json.bind(this.db);
    return {
      id: row.id,
      thread_id: row.thread_id,
      agent_id: row.agent_id,
      origin: row.origin,
      status: row.status,
      input: j(row.input),
      stop_reason: row.stop_reason,
      output: row.output,
      usage: row.usage === null ? null : j(row.usage),
      tool_calls: row.tool_calls === null ? null : j(row.tool_calls),
      error: row.error === null ? null : j(row.error),
      timeout_ms: Number(row.timeout_ms),
      owner: row.owner,
      created_at: this.db.time(row.created_at)!,
      started_at: this.db.time(row.started_at),
      finished_at: this.db.time(row.finished_at),
    };
  }
}
