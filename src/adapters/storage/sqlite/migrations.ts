/**
 * The SQLite schema as numbered migrations, applied in order at open, all pending ones in one
 * transaction. A migration, once released, never changes: a new need is a new migration.
 *
 * Conventions: money columns are INTEGER (int64 units of 1e-12 USD, read as bigint); instants are
 * INTEGER milliseconds; booleans 0/1. Every key begins with the account's number (the org's for
 * `org_cycles`), as in `model.ts`. Tables whose rows are small and always reached by their key are
 * WITHOUT ROWID: one B-tree instead of a rowid table plus a primary-key index (`postings`, whose
 * rows are wide, is the exception). `orgs` and
 * `accounts` keep a rowid (`no INTEGER PRIMARY KEY`) because the number is allocated by SQLite.
 * No foreign keys: the app keeps integrity, and unchecked writes stay cheap.
 */
import type { DatabaseSync } from 'node:sqlite';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'ledger',
    sql: `
CREATE TABLE orgs (
  no INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  billing_anchor INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  uc_enabled INTEGER NOT NULL,
  uc_monthly_limit_units INTEGER,
  -- {"<seat plan>": "<units as a decimal string>"}: JSON numbers would lose int64 precision.
  seat_tier_limits_units TEXT NOT NULL
);

CREATE TABLE org_cycles (
  org_no INTEGER NOT NULL,
  cycle_start INTEGER NOT NULL,
  uc_spent_units INTEGER NOT NULL,
  uc_held_units INTEGER NOT NULL,
  PRIMARY KEY (org_no, cycle_start)
) WITHOUT ROWID;

CREATE TABLE accounts (
  no INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  plan TEXT,
  pending_plan TEXT,
  status TEXT NOT NULL,
  org_no INTEGER,
  org_id TEXT,
  billing_anchor INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  claimed_at INTEGER,
  claim_effective_at INTEGER,
  uc_enabled INTEGER NOT NULL,
  uc_monthly_limit_units INTEGER,
  member_limit_units INTEGER,
  granted_through_index INTEGER,
  closed_through_index INTEGER,
  session_start INTEGER,
  session_used_units INTEGER NOT NULL,
  week_start INTEGER,
  week_used_units INTEGER NOT NULL,
  last_activity_at INTEGER,
  next_seq INTEGER NOT NULL,
  next_roll_at INTEGER
);
-- The sweep's one query (listAccountsDue); accounts with nothing due stay out of the index.
CREATE INDEX accounts_next_roll_at ON accounts (next_roll_at) WHERE next_roll_at IS NOT NULL;
CREATE INDEX accounts_org ON accounts (org_no) WHERE org_no IS NOT NULL;

CREATE TABLE cycles (
  account_no INTEGER NOT NULL,
  start INTEGER NOT NULL,
  end INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  closed INTEGER NOT NULL,
  granted_units INTEGER NOT NULL,
  credit_used_units INTEGER NOT NULL,
  expired_units INTEGER NOT NULL,
  credit_adjusted_units INTEGER NOT NULL,
  uc_charged_units INTEGER NOT NULL,
  written_off_units INTEGER NOT NULL,
  subscription_units INTEGER NOT NULL,
  payg_units INTEGER NOT NULL,
  credit_held_units INTEGER NOT NULL,
  uc_held_units INTEGER NOT NULL,
  exhausted_at INTEGER,
  PRIMARY KEY (account_no, start)
) WITHOUT ROWID;

-- The journal: append-only, numbered per account. Rows are appended in seq order, so the primary
-- key and the cycle index grow at their right edge. A rowid table, not WITHOUT ROWID: its rows are
-- wide (~250 bytes), and wide rows in a WITHOUT ROWID B-tree made inserts ~30% slower (measured).
CREATE TABLE postings (
  account_no INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  cycle_start INTEGER NOT NULL,
  kind TEXT NOT NULL,
  idem TEXT,
  hash TEXT,
  corrects INTEGER,
  credit_units INTEGER NOT NULL,
  uc_units INTEGER NOT NULL,
  subscription_units INTEGER NOT NULL,
  written_off_units INTEGER NOT NULL,
  payg_units INTEGER NOT NULL,
  cost_units INTEGER NOT NULL,
  usage_class TEXT,
  surface TEXT,
  app TEXT,
  model TEXT,
  note TEXT,
  recorded_at INTEGER NOT NULL,
  PRIMARY KEY (account_no, seq)
);
-- R12: a client id is booked at most once per account, for the life of the data.
CREATE UNIQUE INDEX postings_idem ON postings (account_no, idem) WHERE idem IS NOT NULL;
-- Statements and entry listings page through one cycle.
CREATE INDEX postings_cycle ON postings (account_no, cycle_start, seq);

CREATE TABLE holds (
  account_no INTEGER NOT NULL,
  id TEXT NOT NULL,
  cycle_start INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  credit_units INTEGER NOT NULL,
  uc_units INTEGER NOT NULL,
  estimate_units INTEGER NOT NULL,
  usage_class TEXT NOT NULL,
  source TEXT NOT NULL,
  surface TEXT NOT NULL,
  app TEXT,
  model TEXT,
  hash TEXT NOT NULL,
  settled_record_id TEXT,
  PRIMARY KEY (account_no, id)
) WITHOUT ROWID;
-- settle/void by hold id alone (findHoldAccounts).
CREATE INDEX holds_id ON holds (id);
-- Loading an aggregate reads only active holds; settled ones stay for replays and would pile up.
CREATE INDEX holds_active ON holds (account_no) WHERE status = 'active';

CREATE TABLE apps (
  account_no INTEGER NOT NULL,
  app TEXT NOT NULL,
  cycle_cap_units INTEGER,
  blocked INTEGER NOT NULL,
  PRIMARY KEY (account_no, app)
) WITHOUT ROWID;

CREATE TABLE dims (
  account_no INTEGER NOT NULL,
  cycle_start INTEGER NOT NULL,
  dim TEXT NOT NULL,
  key TEXT NOT NULL,
  -- Sums grow by upsert; SQLite turns an overflowing integer sum into a REAL: refuse it instead.
  cost_units INTEGER NOT NULL CHECK (typeof(cost_units) = 'integer'),
  PRIMARY KEY (account_no, cycle_start, dim, key)
) WITHOUT ROWID;

CREATE TABLE tokens (
  hash TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  account_id TEXT,
  org_id TEXT,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
`,
  },
  {
    version: 2,
    name: 'outbox',
    sql: `
-- Credit alerts (issue 8): the highest threshold already announced in the cycle, and when its
-- expiry warning is due (NULL: none scheduled, or handled). Rows of earlier builds start at none.
ALTER TABLE cycles ADD COLUMN alert_percent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cycles ADD COLUMN expiring_at INTEGER;

-- The transactional outbox: one row per event, written in the ledger transaction that caused it.
-- payload is the delivered body, fixed at generation (every attempt sends the same bytes).
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  account_id TEXT,
  org_id TEXT,
  created_at INTEGER NOT NULL,
  payload TEXT NOT NULL,
  fanned_out INTEGER NOT NULL DEFAULT 0
);
-- The worker's scan: only events not yet fanned out stay in the index.
CREATE INDEX events_to_fan_out ON events (seq) WHERE fanned_out = 0;

CREATE TABLE webhooks (
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  -- JSON array of event types.
  event_types TEXT NOT NULL,
  account_id TEXT,
  org_id TEXT,
  created_at INTEGER NOT NULL,
  deleted_at INTEGER
) WITHOUT ROWID;
CREATE INDEX webhooks_account ON webhooks (account_id) WHERE deleted_at IS NULL;
CREATE INDEX webhooks_org ON webhooks (org_id) WHERE deleted_at IS NULL;

CREATE TABLE webhook_deliveries (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  endpoint_id TEXT NOT NULL,
  event_seq INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at INTEGER,
  leased_until INTEGER,
  lease_token TEXT,
  last_attempt_at INTEGER,
  delivered_at INTEGER,
  -- JSON array of the last attempts: [{at, status_code, error, duration_ms}].
  log TEXT NOT NULL
);
-- Fan-out: one delivery per endpoint per event, whatever retries the fan-out takes.
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (endpoint_id, event_id);
-- The worker's claim: pending deliveries by due time.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- The delivery log of an endpoint, newest first.
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, seq);
`,
  },
  {
    version: 3,
    name: 'write-behind',
    sql: `
-- Write-behind (sqlite-store.ts): the account, cycle and breakdown rows hold the effects of the
-- account's postings up to this seq; reads fold the later ones. Rows of earlier builds were
-- written through, so they hold every posting booked so far.
ALTER TABLE accounts ADD COLUMN figures_through_seq INTEGER NOT NULL DEFAULT 0;
UPDATE accounts SET figures_through_seq = next_seq - 1;
`,
  },
];

/**
 * Applies every pending migration in one transaction, idempotently: opening an up-to-date file
 * changes nothing. A file migrated by a newer build (an unknown version, or a known version under
 * another name) is refused rather than guessed at.
 */
export function migrate(db: DatabaseSync): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    const applied = new Map<number, string>();
    for (const row of db.prepare('SELECT version, name FROM schema_migrations').all()) {
      applied.set(Number(row.version), String(row.name));
    }
    for (const [version, name] of applied) {
      const known = migrations.find((m) => m.version === version);
      if (!known || known.name !== name) {
        throw new Error(
          `schema migration ${version} (${name}) is not one this build knows: the file is newer`,
        );
      }
    }
    const record = db.prepare(
      "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, CAST(unixepoch('subsec') * 1000 AS INTEGER))",
    );
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(migration.version)) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name);
    }
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
