import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import postgres from 'postgres';
import { openStore } from './open-store.ts';

test('openStore: no URL opens SQLite at db', async () => {
  const store = await openStore({ db: ':memory:' }, {});
  try {
    assert.equal(store.kind, 'sqlite');
    assert.equal(await store.ping(), true);
  } finally {
    await store.close();
  }
});

test('openStore: a database URL (option or DATABASE_URL) opens PostgreSQL', async () => {
  const adminUrl = process.env.CREDITPOOL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  const name = `cp_test_open_${randomBytes(4).toString('hex')}`;
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } catch (error) {
    await admin.end();
    throw new Error(
      `PostgreSQL is not reachable at ${adminUrl} (set CREDITPOOL_TEST_DATABASE_URL): ${String(error)}`,
    );
  }
  try {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    for (const store of [
      await openStore({ databaseUrl: url.toString(), db: ':memory:' }, {}),
      await openStore({ db: ':memory:' }, { DATABASE_URL: url.toString() }),
    ]) {
      try {
        assert.equal(store.kind, 'postgres');
        assert.equal(await store.ping(), true);
      } finally {
        await store.close();
      }
    }
  } finally {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
});
