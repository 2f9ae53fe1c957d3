import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Db } from './dialect.js';

/** Migrations are code so they ship with the server and run at start-up on either dialect. */
function migrations(db: Db): Record<string, Migration> {
  const { json, time } = db.types;
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

        await k.schema
          .createTable('run_events')
          .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('data', json, (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addPrimaryKeyConstraint('run_events_pk', ['run_id', 'seq'])
          // SQLite: the key is the table (one b-tree, not two) — events are written per token.
          .$call((b) => (db.kind === 'sqlite' ? b.modifyEnd(sql`without rowid`) : b))
          .execute();
      },
      async down(k: Kysely<any>) {
        for (const t of ['run_events', 'runs', 'messages', 'threads']) await k.schema.dropTable(t).ifExists().execute();
      },
    },
  };
}

export async function migrate(db: Db): Promise<void> {
  const all = migrations(db);
  const provider: MigrationProvider = { getMigrations: async () => all };
  const { error, results } = await new Migrator({ db: db.kysely, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message}`);
  }
}
