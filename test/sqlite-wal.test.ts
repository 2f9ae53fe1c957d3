import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openDb } from '../src/db/dialect.js';
import { tempDir } from './helpers/server.js';

describe('SQLite write-ahead log', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  it('is checkpointed and started over under writes that never pause, so it stays bounded', async (t) => {
    const file = join(tmp.dir, 'wal.sqlite');
    const db = await openDb(`sqlite:${file}`, { checkpointMs: 50 });
    try {
      await sql`create table filler (id integer primary key, body text not null)`.execute(db.kysely);
      const body = 'x'.repeat(16 * 1024);
      let written = 0;
      let largest = 0;
      const until = Date.now() + 2000;
      // One commit after another, as a busy server makes them: the log is never idle. Old rows
      // go, so the database file stays small; the log sees every change all the same.
      for (let id = 1; Date.now() < until; id++) {
        await sql`insert into filler (id, body) values (${id}, ${body})`.execute(db.kysely);
        await sql`delete from filler where id = ${id - 100}`.execute(db.kysely);
        written += body.length;
        if (id % 20 === 0) {
          largest = Math.max(largest, statSync(`${file}-wal`).size);
          await new Promise((r) => setImmediate(r));
        }
      }
      t.diagnostic(`largest log ${(largest / 2 ** 20).toFixed(1)} MB; ${(written / 2 ** 20).toFixed(1)} MB written`);
      // Without restarts the log holds every change since the first commit.
      assert.ok(largest < written / 3, `the log grew to ${largest} bytes while ${written} bytes were written`);
      const { n } = (await sql<{ n: number }>`select count(*) as n from filler`.execute(db.kysely)).rows[0];
      assert.equal(n, 100);
    } finally {
      await db.close();
    }
  });
});
