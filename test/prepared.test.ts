import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openDb, type Db } from '../src/db/dialect.js';
import { prepared } from '../src/db/prepared.js';
import { Store } from '../src/store/store.js';
import { dialects, testDatabase, type TestDatabase } from './helpers/databases.js';
import { tempDir } from './helpers/server.js';

for (const dialect of dialects()) describe(`prepared statements [${dialect}]`, () => {
  const tmp = tempDir();
  let tdb: TestDatabase;
  let db: Db;
  let store: Store;
  before(async () => {
    tdb = await testDatabase(dialect, tmp.dir);
    db = await openDb(tdb.url);
    store = await Store.open(db);
  });
  after(async () => {
    await store?.close();
    await tdb?.drop();
    tmp.cleanup();
  });

  it('compiles once and binds each call\'s own arguments, constants included', async () => {
    const byAgent = prepared((d, agent: string, id: string) => d.kysely.selectFrom('threads').select(['id', 'agent_id']).where('agent_id', '=', agent).where('id', '!=', id).where('title', 'is', null).orderBy('id'));
    await store.threads.ensure('t1', 'alpha', null);
    await store.threads.ensure('t2', 'alpha', null);
    await store.threads.ensure('t3', 'beta', null);
    assert.deepEqual((await byAgent(db, 'alpha', 't1')).rows, [{ id: 't2', agent_id: 'alpha' }]);
    assert.deepEqual((await byAgent(db, 'beta', 'x')).rows, [{ id: 't3', agent_id: 'beta' }]);
    // Inside a transaction it runs on the transaction's connection.
    await db.kysely.transaction().execute(async (trx) => {
      await trx.insertInto('threads').values({ id: 't4', agent_id: 'beta', title: null, metadata: '{}', state: null, created_at: new Date().toISOString(), updated_at: new Date().toISOString() }).execute();
      assert.equal((await byAgent({ ...db, kysely: trx }, 'beta', 'x')).rows.length, 2);
    });
  });

  it('refuses a build that does not bind every argument', async () => {
    const broken = prepared((d, id: string, _unused: string) => d.kysely.selectFrom('threads').select('id').where('id', '=', id));
    await assert.rejects(broken(db, 'a', 'b'), /uses 1 of its 2 arguments/);
  });

  const insertThread = prepared((d, id: string, agent: string, now: string) =>
    d.kysely.insertInto('threads').values({ id, agent_id: agent, title: null, metadata: '{}', state: null, created_at: now, updated_at: now }),
  );
  const titleOf = prepared((d, title: string, id: string) => d.kysely.updateTable('threads').set({ title }).where('id', '=', id));
  const agentsOf = prepared((d, prefix: string) => d.kysely.selectFrom('threads').select('agent_id').where('id', 'like', prefix).orderBy('id'));

  it('batch: the statements in one transaction, in order, each with its result', async () => {
    const now = new Date().toISOString();
    const results = await db.batch([insertThread.query(db, 'b1', 'gamma', now), insertThread.query(db, 'b2', 'gamma', now), titleOf.query(db, 'named', 'b2'), agentsOf.query(db, 'b%')]);
    assert.equal(results.length, 4);
    assert.equal(Number(results[2].numAffectedRows), 1);
    // The select sees the inserts before it in the same transaction.
    assert.deepEqual(results[3].rows, [{ agent_id: 'gamma' }, { agent_id: 'gamma' }]);
    assert.equal((await store.threads.get('b2'))?.title, 'named');
  });

  it('batch: a failing statement stores nothing of the batch, statements before it included, and the connection stays usable', async () => {
    const now = new Date().toISOString();
    // The second insert clashes with the first: the first must be rolled back with it, and the update after it never lands.
    await assert.rejects(db.batch([insertThread.query(db, 'c1', 'delta', now), insertThread.query(db, 'c1', 'delta', now), titleOf.query(db, 'never', 'b1')]), (err: Error & { code?: string }) => /unique|duplicate|constraint/i.test(`${err.message} ${err.code ?? ''}`));
    assert.equal(await store.threads.get('c1'), undefined);
    assert.equal((await store.threads.get('b1'))?.title, null);
    // Every pooled connection still answers (none was left inside the aborted transaction).
    const again = await Promise.all(Array.from({ length: 12 }, (_, i) => db.batch([insertThread.query(db, `d${i}`, 'delta', now)])));
    assert.equal(again.length, 12);
    assert.equal((await agentsOf(db, 'd%')).rows.length, 12);
  });
});
