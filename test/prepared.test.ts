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
});
