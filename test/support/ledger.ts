/**
 * A ledger to test against: the real use cases on an in-memory SQLite store with a manual clock.
 * Amounts in scenarios are written in cents and priced on `claude-opus-5-5` ($4 per million input
 * tokens), so `cents(n)` of cost is exactly `n * 2500` input tokens. `record` delivers a record
 * when it occurred: it moves the clock forward to the record's time first (never back), as a
 * gateway reporting in real time would.
 */
import { openSqliteStore } from '../../src/adapters/storage/sqlite/index.ts';
import * as app from '../../src/app/index.ts';
import { type AppContext, defaultCatalogues, ManualClock } from '../../src/app/index.ts';
import type { Store } from '../../src/app/ports.ts';
import { unitsPerCent } from '../../src/core/money.ts';
import { parseInstant } from '../../src/core/time.ts';

export const scenarioModel = 'claude-opus-5-5';
/** Input tokens that cost exactly one cent on the scenario model. */
export const tokensPerCent = 2500;

export function cents(n: number | bigint): bigint {
  return BigInt(n) * unitsPerCent;
}
export function dollars(n: number | bigint): bigint {
  return BigInt(n) * 100n * unitsPerCent;
}

export interface Ledger {
  ctx: AppContext;
  clock: ManualClock;
  store: Store;
  /** Moves the clock to an RFC 3339 instant (never backwards). */
  at(instant: string): void;
  close(): Promise<void>;
}

export async function makeLedger(start = '2026-07-03T10:00:00Z', path = ':memory:'): Promise<Ledger> {
  const store = await openSqliteStore({ path, verifyCache: true });
  const clock = new ManualClock(parseInstant(start));
  const ctx: AppContext = { store, clock, catalogues: defaultCatalogues };
  return {
    ctx,
    clock,
    store,
    at(instant: string) {
      if (!clock.set(parseInstant(instant))) throw new Error(`clock cannot go back to ${instant}`);
    },
    close: () => store.close(),
  };
}

export interface RecordSpec {
  id: string;
  account: string;
  at: string;
  surface?: string;
  cents: number;
  app?: string | null;
  model?: string;
}

/** A Messages API usage record costing exactly `cents` on the scenario model. */
export function usageRecord(spec: RecordSpec): Record<string, unknown> {
  return {
    id: spec.id,
    account_id: spec.account,
    occurred_at: spec.at,
    surface: spec.surface ?? 'sdk-cli',
    app: spec.app ?? null,
    model: spec.model ?? scenarioModel,
    usage: { input_tokens: spec.cents * tokensPerCent, output_tokens: 0 },
  };
}

export async function record(l: Ledger, spec: RecordSpec) {
  const at = Date.parse(spec.at);
  if (at > l.clock.now()) l.clock.set(at);
  const [result] = await app.recordUsage(l.ctx, [usageRecord(spec)]);
  return result!;
}

export async function subscriber(
  l: Ledger,
  id: string,
  plan = 'pro',
  anchor = '2026-07-03T10:00:00Z',
  claimed = true,
) {
  await app.createAccount(l.ctx, { id, kind: 'subscription', plan, billing_anchor: anchor });
  if (claimed) await app.claim(l.ctx, id);
}

/** Every invariant `verify` checks; throws with the list of problems if any. */
export async function assertLedgerConsistent(l: Ledger): Promise<void> {
  const report = await app.verifyLedger(l.ctx);
  if (report.problems.length > 0) throw new Error(`ledger inconsistent:\n${report.problems.join('\n')}`);
}

/** A full, comparable picture of the ledger: accounts, cycles, holds, postings, dims. */
export async function snapshot(l: Ledger): Promise<string> {
  return l.store.read(async (tx) => {
    const out: unknown[] = [];
    let after: string | null = null;
    for (;;) {
      const ids = await tx.listAccountIds(after, 1000);
      for (const id of ids) {
        const agg = await tx.getAccount(id);
        if (!agg) continue;
        const cycles = await tx.listCycles(agg.account.no);
        const dims = [];
        for (const c of cycles) dims.push(await tx.getDims(agg.account.no, c.start));
        const postings = [];
        for (let afterSeq = 0; ; ) {
          const page = await tx.listPostings(agg.account.no, { afterSeq, limit: 10_000 });
          postings.push(...page);
          if (page.length < 10_000) break;
          afterSeq = page[page.length - 1]!.seq;
        }
        out.push({
          account: agg.account,
          holds: [...agg.holds.values()],
          apps: [...agg.apps.values()],
          cycles,
          dims,
          postings: postings.map((p) => ({ ...p, recordedAt: 0 })),
        });
      }
      if (ids.length < 1000) break;
      after = ids[ids.length - 1]!;
    }
    return JSON.stringify(out, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
  });
}

export { app };
