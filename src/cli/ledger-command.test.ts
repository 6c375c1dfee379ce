import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sqlitePathDefault } from '../adapters/storage/open-store.ts';
import { toJson } from './json.ts';
import { databaseOf, defaultDbPath, describeDatabase, formatTable } from './ledger-command.ts';

describe('toJson', () => {
  it('turns every bigint into an exact decimal USD string, deeply, and drops undefined', () => {
    assert.deepEqual(
      toJson({ a: 20_000_000_000_000n, b: [{ c: -5n }], d: null, e: undefined, f: 3, g: 'x', h: true }),
      { a: '20', b: [{ c: '-0.000000000005' }], d: null, f: 3, g: 'x', h: true },
    );
  });
  it('refuses what JSON would silently mangle', () => {
    assert.throws(() => toJson({ a: Number.NaN }), /non-finite/);
    assert.throws(() => toJson({ a: () => 1 }), /cannot convert a function/);
  });
});

describe('databaseOf', () => {
  it('flags win over the environment; DATABASE_URL over CREDITPOOL_DB; SQLite by default', () => {
    const env = { CREDITPOOL_DB: 'env.db', DATABASE_URL: 'postgres://h/db' };
    assert.deepEqual(databaseOf({ db: 'flag.db' }, env), { db: 'flag.db' });
    assert.deepEqual(databaseOf({ 'database-url': 'postgres://x/y' }, env), {
      databaseUrl: 'postgres://x/y',
    });
    assert.deepEqual(databaseOf({}, env), { databaseUrl: 'postgres://h/db' });
    assert.deepEqual(databaseOf({}, { CREDITPOOL_DB: 'env.db' }), { db: 'env.db' });
    assert.deepEqual(databaseOf({}, {}), { db: defaultDbPath });
    assert.ok('error' in databaseOf({ db: 'a', 'database-url': 'b' }, {}));
  });
  it('the default is the storage layer default', () => {
    assert.equal(defaultDbPath, sqlitePathDefault);
  });
  it('never prints a database password', () => {
    assert.equal(
      describeDatabase({ databaseUrl: 'postgres://u:secret@db.example:5432/cp' }),
      'PostgreSQL db.example:5432/cp',
    );
  });
});

describe('formatTable', () => {
  it('pads columns, right-aligns the amounts', () => {
    assert.equal(
      formatTable(
        ['k', 'usd'],
        [
          ['a', '1'],
          ['bbb', '10.5'],
        ],
        [1],
      ),
      'k     usd\na       1\nbbb  10.5',
    );
  });
});
