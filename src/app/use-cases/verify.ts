/**
 * `verify`: recomputes every cached figure from the journal and checks the ledger's invariants.
 * Cached balances "affect cost, never meaning": if any differs from its recomputation, that is a
 * bug, and this reports each difference.
 *
 * Checked per account: every cycle's figures equal the fold of its postings (`applyPosting`); the
 * held figures equal the active holds; breakdowns equal the usage costs; no cycle's credit is
 * below zero; postings are numbered 1..n without gaps; every usage posting's legs add up to its
 * cost; a closed cycle has no credit left. Per org: each cycle's shared counter equals its
 * members' usage-credit charges and holds.
 */
import { formatUsd } from '../../core/money.ts';
import type { AppContext } from '../context.ts';
import { applyPosting, emptyCycle, postingLegs, remainingCredit } from '../ledger.ts';
import type { CycleRow, HoldRow, PostingRow } from '../model.ts';
import type { ReadTx } from '../ports.ts';

export interface VerifyReport {
  accounts: number;
  postings: number;
  problems: string[];
}

const figureNames = [
  'grantedUnits',
  'creditUsedUnits',
  'expiredUnits',
  'creditAdjustedUnits',
  'ucChargedUnits',
  'writtenOffUnits',
  'subscriptionUnits',
  'paygUnits',
] as const;

/** Postings read per page while folding an account's journal. */
const verifyPageSize = 10_000;

export async function verifyLedger(
  ctx: AppContext,
  options: { accountIds?: string[] } = {},
): Promise<VerifyReport> {
  const report: VerifyReport = { accounts: 0, postings: 0, problems: [] };
  const orgSums = new Map<string, { spent: bigint; held: bigint }>();
  await ctx.store.read(async (tx) => {
    const ids = options.accountIds ?? (await allAccountIds(tx));
    for (const id of ids) {
      report.accounts += 1;
      await verifyAccount(tx, id, report, orgSums);
    }
    if (!options.accountIds) {
      for (const [key, sums] of orgSums) {
        const [orgNo, start] = key.split(':').map(Number) as [number, number];
        const counter = await tx.getOrgCycle(orgNo, start);
        const spent = counter?.ucSpentUnits ?? 0n;
        const held = counter?.ucHeldUnits ?? 0n;
        if (spent !== sums.spent || held !== sums.held) {
          const label = `org ${orgNo}, cycle from ${new Date(start).toISOString()}`;
          if (spent !== sums.spent)
            report.problems.push(differs(`${label}: usage credits spent (members' sum)`, spent, sums.spent));
          if (held !== sums.held)
            report.problems.push(differs(`${label}: usage credits held (members' holds)`, held, sums.held));
        }
      }
    }
  });
  return report;
}

async function allAccountIds(tx: ReadTx): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await tx.listAccountIds(after, 1000);
    ids.push(...page);
    if (page.length < 1000) return ids;
    after = page[page.length - 1]!;
  }
}

async function verifyAccount(
  tx: ReadTx,
  id: string,
  report: VerifyReport,
  orgSums: Map<string, { spent: bigint; held: bigint }>,
) {
  const agg = await tx.getAccount(id);
  if (!agg) {
    report.problems.push(`${id}: listed but not readable`);
    return;
  }
  const account = agg.account;
  const stored = await tx.listCycles(account.no);
  const folded = new Map<number, CycleRow>();
  for (const c of stored) folded.set(c.start, emptyCycle(account.no, c));
  const dims = new Map<string, bigint>();
  let expectedSeq = 1;
  let afterSeq = 0;
  for (;;) {
    const page: PostingRow[] = await tx.listPostings(account.no, { afterSeq, limit: verifyPageSize });
    for (const p of page) {
      report.postings += 1;
      if (p.seq !== expectedSeq) report.problems.push(`${id}: posting seq ${p.seq}, expected ${expectedSeq}`);
      expectedSeq = p.seq + 1;
      const cycle = folded.get(p.cycleStart);
      if (!cycle) {
        report.problems.push(`${id}: posting ${p.seq} in a cycle with no row (${p.cycleStart})`);
        continue;
      }
      applyPosting(cycle, p);
      if (p.kind === 'usage') {
        const legs = -p.creditUnits + p.ucUnits + p.writtenOffUnits + p.subscriptionUnits + p.paygUnits;
        if (legs !== p.costUnits)
          report.problems.push(
            `${id}: usage posting ${p.seq}: its legs add up to ${usd(legs)}, its cost is ${usd(p.costUnits)}`,
          );
      }
      if (p.kind === 'adjustment') {
        for (const [pool, amount] of postingLegs(p)) {
          if (amount === 0n) continue;
          const k = `${p.cycleStart}|adjustment|${pool}`;
          dims.set(k, (dims.get(k) ?? 0n) + amount);
        }
      }
      if (p.costUnits !== 0n && p.kind !== 'reclassification') {
        const cost = p.kind === 'reversal' ? -p.costUnits : p.costUnits;
        for (const [dim, key] of [
          ['surface', p.surface],
          ['app', p.app],
          ['model', p.model],
        ] as const) {
          if (key === null) continue;
          const k = `${p.cycleStart}|${dim}|${key}`;
          dims.set(k, (dims.get(k) ?? 0n) + cost);
        }
      }
    }
    if (page.length < verifyPageSize) break;
    afterSeq = page[page.length - 1]!.seq;
  }
  if (account.nextSeq !== expectedSeq)
    report.problems.push(`${id}: nextSeq ${account.nextSeq}, journal ends at ${expectedSeq - 1}`);
  const activeHolds: HoldRow[] = [...agg.holds.values()];
  for (const c of stored) {
    const f = folded.get(c.start)!;
    for (const name of figureNames) {
      if (c[name] !== f[name])
        report.problems.push(differs(`${cycleLabel(id, c)}: ${figureLabels[name]}`, c[name], f[name]));
    }
    if (remainingCredit(c) < 0n)
      report.problems.push(`${cycleLabel(id, c)}: credit below zero (${usd(remainingCredit(c))})`);
    if (c.closed && remainingCredit(c) !== 0n)
      report.problems.push(`${cycleLabel(id, c)}: closed with ${usd(remainingCredit(c))} of credit left`);
    const holds = activeHolds.filter((h) => h.cycleStart === c.start);
    const creditHeld = holds.reduce((s, h) => s + h.creditUnits, 0n);
    const ucHeld = holds.reduce((s, h) => s + h.ucUnits, 0n);
    if (c.creditHeldUnits !== creditHeld)
      report.problems.push(
        differs(`${cycleLabel(id, c)}: credit held (active holds)`, c.creditHeldUnits, creditHeld),
      );
    if (c.ucHeldUnits !== ucHeld)
      report.problems.push(
        differs(`${cycleLabel(id, c)}: usage credits held (active holds)`, c.ucHeldUnits, ucHeld),
      );
    for (const d of await tx.getDims(account.no, c.start)) {
      const want = dims.get(`${c.start}|${d.dim}|${d.key}`) ?? 0n;
      if (want !== d.costUnits)
        report.problems.push(
          differs(`${cycleLabel(id, c)}: ${d.dim} breakdown ${JSON.stringify(d.key)}`, d.costUnits, want),
        );
      dims.delete(`${c.start}|${d.dim}|${d.key}`);
    }
    if (account.orgNo !== null) {
      const key = `${account.orgNo}:${c.start}`;
      const sums = orgSums.get(key) ?? { spent: 0n, held: 0n };
      sums.spent += f.ucChargedUnits;
      sums.held += ucHeld;
      orgSums.set(key, sums);
    }
  }
  for (const [k, v] of dims) {
    if (v === 0n) continue;
    const [start, dim, key] = k.split('|');
    report.problems.push(
      `${id}, cycle from ${new Date(Number(start)).toISOString()}: no cached ${dim} breakdown ${JSON.stringify(key)} (journal ${usd(v)})`,
    );
  }
}

// ── readable differences: amounts in USD, cycles by their dates ──

const figureLabels: Record<(typeof figureNames)[number], string> = {
  grantedUnits: 'credit granted',
  creditUsedUnits: 'credit used',
  expiredUnits: 'credit expired',
  creditAdjustedUnits: 'credit adjusted',
  ucChargedUnits: 'usage credits charged',
  writtenOffUnits: 'written off',
  subscriptionUnits: 'subscription usage',
  paygUnits: 'pay-as-you-go',
};

function usd(units: bigint): string {
  return `${formatUsd(units)} USD`;
}

function cycleLabel(id: string, c: CycleRow): string {
  return `${id}, cycle ${c.index} (${new Date(c.start).toISOString()} to ${new Date(c.end).toISOString()})`;
}

/** A cached figure against its recomputation from the journal, both in USD, and the gap. */
function differs(what: string, cached: bigint, journal: bigint): string {
  const gap = cached - journal;
  return `${what}: cached ${usd(cached)}, journal ${usd(journal)} (cached is ${usd(gap < 0n ? -gap : gap)} too ${gap > 0n ? 'high' : 'low'})`;
}
