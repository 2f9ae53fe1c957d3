import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Db } from './dialect.js';

/** Migrations are code so they ship with the server and run at start-up on either dialect. */
function migrations(db: Db): Record<string, Migration> {
  const { json, time } = db.types;
  /**
   * A run-events table: (run_id, seq) is the key, `created_at` last; `batched` (0010 on): a row holds
   * seq..last_seq and their JSON array as text, else (0001–0009) one event, its type and its json.
   */
  const eventsTable = (k: Kysely<any>, name: string, batched: boolean) =>
    k.schema
      .createTable(name)
      .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .$call((b) => (batched ? b.addColumn('last_seq', 'integer', (c) => c.notNull()).addColumn('data', 'text', (c) => c.notNull()) : b.addColumn('type', 'text', (c) => c.notNull()).addColumn('data', json, (c) => c.notNull())))
      .addColumn('created_at', time, (c) => c.notNull())
      .addPrimaryKeyConstraint(batched ? 'run_event_batches_pk' : 'run_events_pk', ['run_id', 'seq'])
      // SQLite: the key is the table (one b-tree, not two) — events are written often.
      .$call((b) => (db.kind === 'sqlite' ? b.modifyEnd(sql`without rowid`) : b))
      .execute();
  return {
    '0001_core': {
      async up(k: Kysely<any>) {
        await k.schema
          .createTable('threads')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('agent_id', 'text', (c) => c.notNull())
          .addColumn('title', 'text')
          .addColumn('metadata', json, (c) => c.notNull())
          .addColumn('state', json)
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('updated_at', time, (c) => c.notNull())
          .execute();
        await k.schema.createIndex('threads_updated').on('threads').columns(['created_at', 'id']).execute();

        await k.schema
          .createTable('messages')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('thread_id', 'text', (c) => c.notNull().references('threads.id').onDelete('cascade'))
          .addColumn('run_id', 'text')
          .addColumn('position', 'integer', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('content', json, (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addUniqueConstraint('messages_thread_position', ['thread_id', 'position'])
          .execute();

        await k.schema
          .createTable('runs')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('thread_id', 'text', (c) => c.notNull().references('threads.id').onDelete('cascade'))
          .addColumn('agent_id', 'text', (c) => c.notNull())
          .addColumn('origin', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('input', json, (c) => c.notNull())
          .addColumn('stop_reason', 'text')
          .addColumn('output', 'text')
          .addColumn('usage', json)
          .addColumn('tool_calls', json)
          .addColumn('error', json)
          .addColumn('timeout_ms', 'bigint', (c) => c.notNull())
          .addColumn('owner', 'text')
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('started_at', time)
          .addColumn('finished_at', time)
          .execute();
        await k.schema.createIndex('runs_thread').on('runs').columns(['thread_id', 'created_at']).execute();
        await k.schema.createIndex('runs_status').on('runs').column('status').execute();

        await eventsTable(k, 'run_events', false);
      },
      async down(k: Kysely<any>) {
        for (const t of ['run_events', 'runs', 'messages', 'threads']) await k.schema.dropTable(t).ifExists().execute();
      },
    },
    '0002_approvals': {
      // What a waiting run needs (approvals, client tool results); stored so a decision after a restart continues it.
      async up(k: Kysely<any>) {
        await k.schema.alterTable('runs').addColumn('pending', json).execute();
      },
      async down(k: Kysely<any>) {
        await k.schema.alterTable('runs').dropColumn('pending').execute();
      },
    },
    '0003_instances': {
      // Several instances on one database: leases, cross-instance cancel, per-thread arrival order
      // and (PostgreSQL) the NOTIFY triggers that wake followers, queued runs and cancels.
      async up(k: Kysely<any>) {
        await k.schema
          .createTable('instances')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('started_at', time, (c) => c.notNull())
          .addColumn('heartbeat_at', time, (c) => c.notNull())
          .addColumn('expires_at', time, (c) => c.notNull())
          .execute();
        await k.schema.alterTable('runs').addColumn('cancel_requested_at', time).execute();
        if (db.kind !== 'postgres') return;
        // Strict arrival order (created_at comes from each host's clock): numbered by the trigger below.
        await k.schema.alterTable('runs').addColumn('arrival', 'bigint').execute();
        for (const stmt of POSTGRES_CLUSTER_SQL) await sql.raw(stmt).execute(k);
      },
      async down(k: Kysely<any>) {
        if (db.kind === 'postgres') {
          await sql.raw('drop trigger if exists runs_notify on runs').execute(k);
          await sql.raw('drop trigger if exists run_events_notify on run_events').execute(k);
          for (const f of ['agent_server_claim_turn(text, text)', 'agent_server_runs_notify()', 'agent_server_events_notify()', 'agent_server_channel()']) await sql.raw(`drop function if exists ${f}`).execute(k);
          await sql.raw('drop index if exists runs_thread_active').execute(k);
          await sql.raw('drop index if exists runs_owner_active').execute(k);
          await sql.raw('drop trigger if exists runs_arrival on runs').execute(k);
          await sql.raw('drop function if exists agent_server_runs_arrival()').execute(k);
          await k.schema.alterTable('runs').dropColumn('arrival').execute();
          await sql.raw('drop sequence if exists runs_arrival_seq').execute(k);
        }
        await k.schema.alterTable('runs').dropColumn('cancel_requested_at').execute();
        await k.schema.dropTable('instances').execute();
      },
    },
    '0004_principals': {
      // Access control: the principal a thread belongs to, copied onto its runs so run lists filter
      // on one index. Rows stored before have none: only admins see them.
      async up(k: Kysely<any>) {
        await k.schema.alterTable('threads').addColumn('owner', 'text').execute();
        await k.schema.alterTable('runs').addColumn('principal', 'text').execute();
        await k.schema.createIndex('threads_owner').on('threads').columns(['owner', 'created_at', 'id']).execute();
        await k.schema.createIndex('runs_principal').on('runs').columns(['principal', 'created_at', 'id']).execute();
      },
      async down(k: Kysely<any>) {
        await k.schema.dropIndex('runs_principal').execute();
        await k.schema.dropIndex('threads_owner').execute();
        await k.schema.alterTable('runs').dropColumn('principal').execute();
        await k.schema.alterTable('threads').dropColumn('owner').execute();
      },
    },
    '0005_seq_reserved': {
      // Events are streamed before they are stored: the highest seq a run may stream, so the
      // `interrupted` event recovery writes never reuses a seq a client already received.
      async up(k: Kysely<any>) {
        await k.schema.alterTable('runs').addColumn('seq_reserved', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      },
      async down(k: Kysely<any>) {
        await k.schema.alterTable('runs').dropColumn('seq_reserved').execute();
      },
    },
    '0007_usage_and_limits': {
      // One row per model call (no foreign key: usage outlives a deleted thread, for accounting),
      // and fixed-window counters for per-principal rate limits shared by every instance.
      async up(k: Kysely<any>) {
        await k.schema
          .createTable('usage_records')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('run_id', 'text', (c) => c.notNull())
          .addColumn('thread_id', 'text', (c) => c.notNull())
          .addColumn('agent_id', 'text', (c) => c.notNull())
          .addColumn('principal', 'text')
          .addColumn('model', 'text', (c) => c.notNull())
          .addColumn('step', 'integer', (c) => c.notNull())
          .addColumn('input_tokens', 'bigint', (c) => c.notNull())
          .addColumn('output_tokens', 'bigint', (c) => c.notNull())
          .addColumn('cache_read_tokens', 'bigint', (c) => c.notNull())
          .addColumn('cache_write_tokens', 'bigint', (c) => c.notNull())
          .addColumn('day', 'text', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .execute();
        await k.schema.createIndex('usage_principal_time').on('usage_records').columns(['principal', 'created_at']).execute();
        await k.schema.createIndex('usage_time').on('usage_records').columns(['created_at']).execute();
        await k.schema.createIndex('usage_thread').on('usage_records').columns(['thread_id']).execute();
        await k.schema
          .createTable('rate_windows')
          .addColumn('principal', 'text', (c) => c.notNull())
          .addColumn('window_start', 'bigint', (c) => c.notNull())
          .addColumn('count', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('rate_windows_pk', ['principal', 'window_start'])
          .execute();
      },
      async down(k: Kysely<any>) {
        await k.schema.dropTable('rate_windows').execute();
        await k.schema.dropTable('usage_records').execute();
      },
    },
    '0008_context': {
      // Long threads: a compaction summarises a thread's turns up to `through_position` for the
      // model (the turns stay stored); the thread remembers how many tokens its context had at
      // the last model call and up to which position, so the next run estimates without a count.
      async up(k: Kysely<any>) {
        await k.schema
          .createTable('compactions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('thread_id', 'text', (c) => c.notNull().references('threads.id').onDelete('cascade'))
          .addColumn('run_id', 'text')
          .addColumn('through_position', 'integer', (c) => c.notNull())
          .addColumn('summary', 'text', (c) => c.notNull())
          .addColumn('turns', 'integer', (c) => c.notNull())
          .addColumn('tokens_before', 'integer', (c) => c.notNull())
          .addColumn('tokens_after', 'integer', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .execute();
        await k.schema.createIndex('compactions_thread').on('compactions').columns(['thread_id', 'through_position']).execute();
        await k.schema.alterTable('threads').addColumn('context_tokens', 'integer').execute();
        await k.schema.alterTable('threads').addColumn('context_through', 'integer').execute();
      },
      async down(k: Kysely<any>) {
        await k.schema.alterTable('threads').dropColumn('context_through').execute();
        await k.schema.alterTable('threads').dropColumn('context_tokens').execute();
        await k.schema.dropTable('compactions').execute();
      },
    },
    '0009_webhooks': {
      // Completion webhooks: a run's subscription (open until the run reaches a final status), one
      // delivery row per status it reached, stored before it is sent and claimed by one instance at
      // a time with a lease; and why a run was asked to stop (multitask interrupt / rollback), so the
      // instance executing it ends it the way the asking one meant.
      async up(k: Kysely<any>) {
        await k.schema
          .createTable('webhook_subscriptions')
          .addColumn('run_id', 'text', (c) => c.primaryKey())
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('open', 'integer', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .execute();
        await k.schema.createIndex('webhook_subscriptions_open').on('webhook_subscriptions').column('open').execute();
        await k.schema
          .createTable('webhook_deliveries')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('run_id', 'text', (c) => c.notNull())
          // The status and the time it was reached: one delivery per occurrence, whoever stores it first.
          .addColumn('occurrence', 'text', (c) => c.notNull())
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          // Text, not json: the signed bytes are sent exactly as stored, on every attempt.
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('next_attempt_at', time)
          .addColumn('lease_owner', 'text')
          .addColumn('lease_until', time)
          .addColumn('last_status', 'integer')
          .addColumn('last_error', 'text')
          .addColumn('delivered_at', time)
          .addColumn('created_at', time, (c) => c.notNull())
          .addUniqueConstraint('webhook_deliveries_occurrence', ['run_id', 'occurrence'])
          .execute();
        await k.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['state', 'next_attempt_at']).execute();
        await k.schema.alterTable('runs').addColumn('cancel_reason', 'text').execute();
      },
      async down(k: Kysely<any>) {
        await k.schema.alterTable('runs').dropColumn('cancel_reason').execute();
        await k.schema.dropTable('webhook_deliveries').execute();
        await k.schema.dropTable('webhook_subscriptions').execute();
      },
    },
    '0010_event_batches': {
      // One row per run per flushed batch of events instead of one per event (a run stores ~56):
      // `seq`..`last_seq` are the batch's events, `data` their JSON array. Text on both dialects:
      // the log is read whole and never queried inside, so PostgreSQL need not parse it into jsonb.
      async up(k: Kysely<any>) {
        await eventsTable(k, 'run_event_batches', true);
        const one = db.kind === 'postgres' ? sql`'[' || data::text || ']'` : sql`'[' || data || ']'`;
        await sql`insert into run_event_batches (run_id, seq, last_seq, data, created_at) select run_id, seq, seq, ${one}, created_at from run_events`.execute(k);
        await k.schema.dropTable('run_events').execute();
        await k.schema.alterTable('run_event_batches').renameTo('run_events').execute();
        if (db.kind === 'postgres') for (const stmt of POSTGRES_EVENTS_NOTIFY_SQL('last_seq')) await sql.raw(stmt).execute(k);
      },
      async down(k: Kysely<any>) {
        await eventsTable(k, 'run_events_single', false);
        await (db.kind === 'postgres'
          ? sql`insert into run_events_single select b.run_id, b.seq + e.i - 1, e.v->>'type', e.v, b.created_at from run_events b, jsonb_array_elements(b.data::jsonb) with ordinality as e(v, i)`
          : sql`insert into run_events_single select b.run_id, b.seq + e.key, json_extract(e.value, '$.type'), e.value, b.created_at from run_events b, json_each(b.data) e`
        ).execute(k);
        await k.schema.dropTable('run_events').execute();
        await k.schema.alterTable('run_events_single').renameTo('run_events').execute();
        if (db.kind === 'postgres') for (const stmt of POSTGRES_EVENTS_NOTIFY_SQL('seq')) await sql.raw(stmt).execute(k);
      },
    },
  };
}

/**
 * PostgreSQL: indexes for the per-thread queue and lease recovery, and triggers that NOTIFY
 * (delivered at commit) on one channel per schema, so tenants in other schemas hear nothing:
 * - after each inserted batch of run events: {"k":"e","r":run_id,"s":last seq} per run;
 * - when a run leaves queued/running: {"k":"s","r":run_id,"t":thread_id} (its thread's queue moves);
 * - when a cancel is requested: {"k":"c","r":run_id,"o":owner}.
 * A payload over NOTIFY's 8000-byte limit (huge caller-chosen ids) becomes {"k":"*"}: "re-check all".
 */
const POSTGRES_CLUSTER_SQL = [
  // Arrival numbers are drawn under the thread's advisory lock, held until the insert commits: per
  // thread, arrival order is commit order, so a queue check never misses an earlier arrival that
  // is not yet visible. Runs stored before this migration are numbered in creation order.
  `create sequence runs_arrival_seq`,
  `update runs set arrival = n.n from (select id, row_number() over (order by created_at, id) as n from runs) n where runs.id = n.id`,
  `select setval('runs_arrival_seq', coalesce((select max(arrival) from runs), 0) + 1, false)`,
  `create function agent_server_runs_arrival() returns trigger language plpgsql as $$
   begin
     perform pg_advisory_xact_lock(1095193672, hashtext(new.thread_id)); -- 1095193672 = 'AGTH': our class of locks
     new.arrival := nextval('runs_arrival_seq');
     return new;
   end $$`,
  `create trigger runs_arrival before insert on runs for each row execute function agent_server_runs_arrival()`,
  `create index runs_thread_active on runs (thread_id, arrival) where status in ('queued', 'running')`,
  `create index runs_owner_active on runs (owner) where status in ('queued', 'running')`,
  `create function agent_server_channel() returns text language sql stable
     as $$ select 'agent_server_' || left(md5(current_schema()), 12) $$`,
  ...POSTGRES_EVENTS_NOTIFY_SQL('seq'),
  `create function agent_server_runs_notify() returns trigger language plpgsql as $$
   declare
     ch text := agent_server_channel();
     p text;
   begin
     if old.status in ('queued', 'running') and new.status not in ('queued', 'running') then
       p := json_build_object('k', 's', 'r', new.id, 't', new.thread_id)::text;
       if octet_length(p) > 7900 then p := '{"k":"*"}'; end if;
       perform pg_notify(ch, p);
     end if;
     if new.cancel_requested_at is not null and old.cancel_requested_at is null then
       p := json_build_object('k', 'c', 'r', new.id, 'o', new.owner)::text;
       if octet_length(p) > 7900 then p := '{"k":"*"}'; end if;
       perform pg_notify(ch, p);
     end if;
     return null;
   end $$`,
  // The per-thread queue's check-and-set (ClusterRepo.claimTurn), in one round trip: under a
  // transaction-scoped advisory lock on the thread, the run starts when no other run of the thread
  // is running and none that arrived earlier is queued. Statements of a volatile function each take
  // a new snapshot, so the update sees every claim committed before the lock was granted.
  // The commit skips the fsync: it is visible to all at once, and beginRun's commit follows.
  `create function agent_server_claim_turn(p_run text, p_thread text) returns text language plpgsql volatile as $$
   declare
     st text;
   begin
     perform set_config('synchronous_commit', 'off', true);
     perform pg_advisory_xact_lock(1095193672, hashtext(p_thread)); -- 1095193672 = 'AGTH': our class of locks
     update runs r set status = 'running', started_at = now()
      where r.id = p_run and r.status = 'queued'
        and not exists (
          select 1 from runs o
           where o.thread_id = p_thread and o.id <> p_run
             and (o.status = 'running' or (o.status = 'queued' and o.arrival < r.arrival)));
     if found then return 'claimed'; end if;
     select status into st from runs where id = p_run;
     return case when st = 'queued' then 'blocked' else 'gone' end;
   end $$`,
  `create trigger runs_notify after update on runs for each row
     when (old.status is distinct from new.status or old.cancel_requested_at is distinct from new.cancel_requested_at)
     execute function agent_server_runs_notify()`,
];

/** To the latest migration, or up or down to `to` (tests). */
export async function migrate(db: Db, to?: string): Promise<void> {
  const all = migrations(db);
  const provider: MigrationProvider = { getMigrations: async () => all };
  // Kysely looks for its bookkeeping tables in every schema unless told which: name ours, so a
  // database holding several schemas (tenants, parallel test runs) never finds another's tables.
  const migrationTableSchema = db.kind === 'postgres' ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db.kysely)).rows[0].schema : undefined;
  const migrator = new Migrator({ db: db.kysely, provider, migrationTableSchema });
  const { error, results } = await (to ? migrator.migrateTo(to) : migrator.migrateToLatest());
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message}`);
  }
}

/** The run-events NOTIFY trigger (see POSTGRES_CLUSTER_SQL); `last` is the column holding a row's last seq. */
function POSTGRES_EVENTS_NOTIFY_SQL(last: 'seq' | 'last_seq'): string[] {
  return [
    `create or replace function agent_server_events_notify() returns trigger language plpgsql as $$
   declare
     ch text := agent_server_channel();
     r record;
     p text;
   begin
     for r in select run_id, max(${last}) as seq from new_events group by run_id loop
       p := json_build_object('k', 'e', 'r', r.run_id, 's', r.seq)::text;
       if octet_length(p) > 7900 then p := '{"k":"*"}'; end if;
       perform pg_notify(ch, p);
     end loop;
     return null;
   end $$`,
    `create trigger run_events_notify after insert on run_events referencing new table as new_events
     for each statement execute function agent_server_events_notify()`,
  ];
}
