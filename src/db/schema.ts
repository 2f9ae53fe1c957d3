import type { ColumnType } from 'kysely';

/** JSON columns: text in SQLite, jsonb in PostgreSQL; written as JSON text, read through `Dialect.json`. */
type Json = ColumnType<unknown, string, string>;
/** Timestamps: ISO text in SQLite, timestamptz in PostgreSQL; read through `Dialect.time`. */
type Time = ColumnType<string | Date, string, string>;

export interface ThreadTable {
  id: string;
  agent_id: string;
  title: string | null;
  metadata: Json;
  state: ColumnType<unknown, string | null, string | null>;
  created_at: Time;
  updated_at: Time;
  /** The principal it belongs to (null: stored before access control; admins only). */
  owner: string | null;
  /** Tokens of the model's context at the thread's last model call (input + output), and the last position it covered. */
  context_tokens: number | null;
  context_through: number | null;
}

/** A summary of a thread's turns up to `through_position`, sent to the model in their place. */
export interface CompactionTable {
  id: string;
  thread_id: string;
  run_id: string | null;
  through_position: number;
  summary: string;
  /** How many stored turns it summarises (earlier compactions' included). */
  turns: number;
  tokens_before: number;
  tokens_after: number;
  created_at: Time;
}

export interface MessageTable {
  id: string;
  thread_id: string;
  run_id: string | null;
  /** Order within the thread (0, 1, …). */
  position: number;
  role: 'user' | 'assistant';
  content: Json;
  created_at: Time;
}

export interface RunTable {
  id: string;
  thread_id: string;
  agent_id: string;
  origin: string;
  status: string;
  input: Json;
  stop_reason: string | null;
  output: string | null;
  usage: ColumnType<unknown, string | null, string | null>;
  tool_calls: ColumnType<unknown, string | null, string | null>;
  error: ColumnType<unknown, string | null, string | null>;
  pending: ColumnType<unknown, string | null, string | null>;
  timeout_ms: number;
  /** Instance executing it (lease owner). */
  owner: string | null;
  /** Its thread's owner (principal id), for run lists. */
  principal: string | null;
  created_at: Time;
  started_at: ColumnType<string | Date | null, string | null, string | null>;
  finished_at: ColumnType<string | Date | null, string | null, string | null>;
  /** Set when a cancel was asked for on any instance; the owner aborts the run. */
  cancel_requested_at: ColumnType<string | Date | null, string | null | undefined, string | null>;
  /** PostgreSQL only: arrival order (set at insert by a trigger), the per-thread queue's order across instances. */
  arrival: ColumnType<number, never, never>;
  /** Highest seq the run may stream (reserved ahead of its events); recovery writes after it. */
  seq_reserved: ColumnType<number, number | undefined, number>;
  /** Why a cancel was asked for (`cancel`, `interrupt`, `rollback`); null: a plain cancel. */
  cancel_reason: ColumnType<string | null, string | null | undefined, string | null>;
}

/** A run's completion webhook; open until the run reaches a final status. */
export interface WebhookSubscriptionTable {
  run_id: string;
  url: string;
  /** 1 while the run may still reach a status worth a delivery. */
  open: number;
  created_at: Time;
}

/** One POST of a run record to its webhook (retried until delivered, refused or out of attempts). */
export interface WebhookDeliveryTable {
  id: string;
  run_id: string;
  occurrence: string;
  url: string;
  type: string;
  payload: string;
  state: string;
  attempts: number;
  next_attempt_at: ColumnType<string | Date | null, string | null, string | null>;
  lease_owner: string | null;
  lease_until: ColumnType<string | Date | null, string | null, string | null>;
  last_status: number | null;
  last_error: string | null;
  delivered_at: ColumnType<string | Date | null, string | null, string | null>;
  created_at: Time;
}

/** One row per running server process; its lease is `expires_at` (renewed by heartbeats). */
export interface InstanceTable {
  id: string;
  started_at: Time;
  heartbeat_at: Time;
  expires_at: Time;
}

/** One flushed batch of a run's events: seqs `seq`..`last_seq`, `data` their JSON array (text). */
export interface RunEventTable {
  run_id: string;
  seq: number;
  last_seq: number;
  data: string;
  created_at: Time;
}

/** One model call's usage; principal/agent/thread copied from its run when stored. */
export interface UsageRecordTable {
  id: string;
  run_id: string;
  thread_id: string;
  agent_id: string;
  principal: string | null;
  model: string;
  step: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  /** UTC date (YYYY-MM-DD) of created_at, so grouping by day is the same SQL on both dialects. */
  day: string;
  created_at: Time;
}

/** Run starts per principal per fixed one-minute window (epoch ms of its start). */
export interface RateWindowTable {
  principal: string;
  window_start: number;
  count: number;
}

export interface Database {
  threads: ThreadTable;
  messages: MessageTable;
  runs: RunTable;
  run_events: RunEventTable;
  instances: InstanceTable;
  usage_records: UsageRecordTable;
  rate_windows: RateWindowTable;
  compactions: CompactionTable;
  webhook_subscriptions: WebhookSubscriptionTable;
  webhook_deliveries: WebhookDeliveryTable;
}
