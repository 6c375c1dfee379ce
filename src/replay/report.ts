/**
 * The replay report: per plan and cycle, the engine's figures; then the plan advisor (the
 * cheapest plan for this history, and why). Money stays `bigint` here; the CLI's `toJson` turns
 * every amount into an exact decimal string (R18), and `renderReport` prints the tables, rounded to
 * the cent for reading only.
 */
import type { IngestIssue } from '../adapters/ingest/record.ts';
import type { Catalogues } from '../app/index.ts';
import { formatCents, roundHalfUpToCents } from '../core/money.ts';
import { planAt } from '../core/plans.ts';
import { formatInstant, type Instant } from '../core/time.ts';
import type { PlanReplay } from './engine.ts';
import type { ReplayInput } from './inputs.ts';
import { isReplayPlan, monthlyPriceUnits } from './plan-prices.ts';

export interface ReportOptions {
  anchor: Instant;
  claimedAt: Instant;
  usageCredits: boolean;
  usageCreditLimitUnits: bigint | null;
  since: Instant | null;
  until: Instant | null;
  catalogues: Catalogues;
}

/** Issues listed in the report (the rest are counted): a broken corpus must not flood the output. */
export const reportIssuesMax = 50;

export interface ReportWindow {
  window: 'session' | 'week';
  start: string;
  end: string;
  limited_at: string;
  records: number;
  over_usd: bigint;
}

export interface ReportCycle {
  start: string;
  end: string;
  records: number;
  programmatic_usd: bigint;
  sdk_credit_granted_usd: bigint;
  sdk_credit_used_usd: bigint;
  sdk_credit_expired_usd: bigint;
  exhausted_at: string | null;
  usage_credits_usd: bigint;
  usage_credits_billed_usd: bigint;
  written_off_usd: bigint;
  interactive_usd: bigint;
  subscription_usd: bigint;
  windows_limited: ReportWindow[];
}

export interface ReportPlan {
  plan: string;
  label: string;
  monthly_price_usd: bigint | null;
  cycles: ReportCycle[];
  totals: {
    programmatic_usd: bigint;
    sdk_credit_used_usd: bigint;
    usage_credits_usd: bigint;
    usage_credits_billed_usd: bigint;
    written_off_usd: bigint;
    interactive_usd: bigint;
    subscription_usd: bigint;
    windows_limited: number;
  };
  rejected: {
    total: number;
    by_code: Record<string, number>;
    samples: { id: string; code: string; detail: string }[];
  };
  /** monthly price × cycles; null when the price is not published. */
  subscription_price_usd: bigint | null;
  /** subscription price + usage credits billed; null when the price is not published. */
  total_usd: bigint | null;
}

export interface ReplayReport {
  assumptions: {
    anchor: string;
    claimed_at: string;
    usage_credits: 'on' | 'off';
    usage_credit_limit_usd: bigint | null;
    since: string | null;
    until: string | null;
    monthly_prices_usd: Record<string, bigint | null>;
  };
  records: {
    /** Lines (or SDK messages) that carried usage, duplicates included. */
    read: number;
    /** Copies dropped by the transcript dedup rules, sidechain replays, and ids the engine had already booked. */
    duplicates: number;
    programmatic: number;
    interactive: number;
    /** Records the engine refused (see each plan's `rejected` for the codes). */
    rejected: number;
    /** `<synthetic>` error placeholders (zero usage, never billed). */
    synthetic: number;
    /** Lines that could not become a record (unparseable, bad usage, bad time). */
    invalid: number;
    /** Usage lines without `entrypoint`, classified as `cli` (see the transcript adapter). */
    missing_entrypoint: number;
    /** Left out by `--since` / `--until`. */
    filtered: number;
  };
  files: { transcripts: number; agent_sdk: number; messages_api: number };
  issues: IngestIssue[];
  issues_total: number;
  plans: ReportPlan[];
  cheapest: { plan: string; total_usd: bigint; covers_all: boolean; reason: string } | null;
}

function windowOut(w: {
  window: 'session' | 'week';
  start: Instant;
  end: Instant;
  limitedAt: Instant;
  records: number;
  overUnits: bigint;
}): ReportWindow {
  return {
    window: w.window,
    start: formatInstant(w.start),
    end: formatInstant(w.end),
    limited_at: formatInstant(w.limitedAt),
    records: w.records,
    over_usd: w.overUnits,
  };
}

export function planReport(p: PlanReplay, catalogues: Catalogues, at: Instant): ReportPlan {
  const cycles: ReportCycle[] = p.cycles.map((c) => ({
    start: formatInstant(c.start),
    end: formatInstant(c.end),
    records: c.records,
    programmatic_usd: c.programmaticUnits,
    sdk_credit_granted_usd: c.grantedUnits,
    sdk_credit_used_usd: c.creditUsedUnits,
    sdk_credit_expired_usd: c.expiredUnits,
    exhausted_at: c.exhaustedAt,
    usage_credits_usd: c.usageCreditsUnits,
    usage_credits_billed_usd: c.usageCreditsBilledUnits,
    written_off_usd: c.writtenOffUnits,
    interactive_usd: c.interactiveUnits,
    subscription_usd: c.subscriptionUnits,
    windows_limited: c.windowsLimited.map(windowOut),
  }));
  const sum = (pick: (c: ReportCycle) => bigint) => cycles.reduce((total, c) => total + pick(c), 0n);
  const price = isReplayPlan(p.plan) ? monthlyPriceUnits[p.plan] : null;
  const billed = sum((c) => c.usage_credits_billed_usd);
  const subscription = price === null ? null : price * BigInt(cycles.length);
  const rejectedTotal = Object.values(p.rejected).reduce((a, b) => a + b, 0);
  return {
    plan: p.plan,
    label: planAt(p.plan, at, catalogues.plans)?.label ?? p.plan,
    monthly_price_usd: price,
    cycles,
    totals: {
      programmatic_usd: sum((c) => c.programmatic_usd),
      sdk_credit_used_usd: sum((c) => c.sdk_credit_used_usd),
      usage_credits_usd: sum((c) => c.usage_credits_usd),
      usage_credits_billed_usd: billed,
      written_off_usd: sum((c) => c.written_off_usd),
      interactive_usd: sum((c) => c.interactive_usd),
      subscription_usd: sum((c) => c.subscription_usd),
      windows_limited: cycles.reduce((n, c) => n + c.windows_limited.length, 0),
    },
    rejected: { total: rejectedTotal, by_code: { ...p.rejected }, samples: p.rejectedSamples },
    subscription_price_usd: subscription,
    total_usd: subscription === null ? null : subscription + billed,
  };
}

const usd = (units: bigint): string => `$${formatCents(roundHalfUpToCents(units))}`;

/**
 * The plan advisor. Only plans with a published price are ranked.
 *
 * - Usage credits on: the lowest total (price × cycles + usage credits billed). What the credit
 *   and the limits do not cover is bought at API rates, so every plan serves the whole history and
 *   the totals compare like for like.
 * - Usage credits off: what no source covers is refused (written off, here), so a cheaper plan may
 *   simply do less. The lowest total among the plans that write nothing off; if none covers the
 *   history, the plan that leaves the least unserved (then the cheaper).
 *
 * Ties go to the plan listed first (smaller plans first).
 */
export function cheapestPlan(plans: readonly ReportPlan[], usageCredits: boolean): ReplayReport['cheapest'] {
  const priced = plans.filter((p): p is ReportPlan & { total_usd: bigint } => p.total_usd !== null);
  if (priced.length === 0) return null;
  const byTotal = (a: { total_usd: bigint }, b: { total_usd: bigint }) =>
    a.total_usd < b.total_usd ? -1 : a.total_usd > b.total_usd ? 1 : 0;
  const cost = (p: ReportPlan & { total_usd: bigint }) => {
    const price = p.subscription_price_usd ?? 0n;
    const parts = `${usd(p.monthly_price_usd ?? 0n)} × ${p.cycles.length} cycle${p.cycles.length === 1 ? '' : 's'}`;
    return p.totals.usage_credits_billed_usd > 0n
      ? `${parts} + ${usd(p.totals.usage_credits_billed_usd)} usage credits = ${usd(price + p.totals.usage_credits_billed_usd)}`
      : `${parts} = ${usd(price)}`;
  };
  if (usageCredits) {
    const ranked = [...priced].sort(byTotal);
    const best = ranked[0]!;
    const next = ranked[1];
    let reason = `${best.label} costs ${cost(best)}`;
    if (next) reason += `; the next cheapest, ${next.label}, costs ${usd(next.total_usd)}`;
    if (best.totals.written_off_usd > 0n) {
      reason += `; ${usd(best.totals.written_off_usd)} of usage would be refused (over the usage-credit limit)`;
    }
    return {
      plan: best.plan,
      total_usd: best.total_usd,
      covers_all: best.totals.written_off_usd === 0n,
      reason,
    };
  }
  const covering = priced.filter((p) => p.totals.written_off_usd === 0n).sort(byTotal);
  if (covering.length > 0) {
    const best = covering[0]!;
    const cheaper = priced.filter((p) => p.total_usd < best.total_usd);
    let reason = `${best.label} is the cheapest plan whose credit and subscription limits cover the whole history without usage credits: ${cost(best)}`;
    if (cheaper.length > 0) {
      reason += `; ${cheaper.map((p) => `${p.label} would leave ${usd(p.totals.written_off_usd)} unserved`).join(', ')}`;
    }
    return { plan: best.plan, total_usd: best.total_usd, covers_all: true, reason };
  }
  const ranked = [...priced].sort((a, b) =>
    a.totals.written_off_usd !== b.totals.written_off_usd
      ? a.totals.written_off_usd < b.totals.written_off_usd
        ? -1
        : 1
      : byTotal(a, b),
  );
  const best = ranked[0]!;
  return {
    plan: best.plan,
    total_usd: best.total_usd,
    covers_all: false,
    reason: `no plan covers this history without usage credits; ${best.label} leaves the least unserved (${usd(best.totals.written_off_usd)}) for ${cost(best)}`,
  };
}

export function buildReport(
  input: ReplayInput,
  plans: readonly PlanReplay[],
  options: ReportOptions,
): ReplayReport {
  const reports = plans.map((p) => planReport(p, options.catalogues, options.claimedAt));
  // Classification and refusals do not depend on the plan (every plan here is eligible and claims
  // at the same instant): the first plan's engine speaks for the records.
  const first = plans[0];
  const s = input.stats;
  const prices: Record<string, bigint | null> = {};
  for (const p of plans) prices[p.plan] = isReplayPlan(p.plan) ? monthlyPriceUnits[p.plan] : null;
  return {
    assumptions: {
      anchor: formatInstant(options.anchor),
      claimed_at: formatInstant(options.claimedAt),
      usage_credits: options.usageCredits ? 'on' : 'off',
      usage_credit_limit_usd: options.usageCredits ? options.usageCreditLimitUnits : null,
      since: options.since === null ? null : formatInstant(options.since),
      until: options.until === null ? null : formatInstant(options.until),
      monthly_prices_usd: prices,
    },
    records: {
      read: s.usageLines,
      duplicates: s.duplicates + s.sidechainReplays + (first?.replayed ?? 0),
      programmatic: first?.booked.programmatic ?? 0,
      interactive: first?.booked.interactive ?? 0,
      rejected: first ? Object.values(first.rejected).reduce((a, b) => a + b, 0) : 0,
      synthetic: s.synthetic,
      invalid: s.invalid + s.unparseable,
      missing_entrypoint: s.missingEntrypoint,
      filtered: input.filtered,
    },
    files: {
      transcripts: input.files.transcript,
      agent_sdk: input.files['agent-sdk'],
      messages_api: input.files['messages-api'],
    },
    issues: s.issues.slice(0, reportIssuesMax),
    issues_total: s.issues.length + s.issuesDropped,
    plans: reports,
    cheapest: cheapestPlan(reports, options.usageCredits),
  };
}

// ---- text ----

function table(header: readonly string[], rows: readonly string[][], right: readonly number[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (right.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

const cents = (units: bigint): string => formatCents(roundHalfUpToCents(units));
const day = (text: string): string => text.slice(0, 10);
const minute = (text: string | null): string =>
  text === null ? '-' : `${text.slice(0, 16).replace('T', ' ')}Z`;

/** The human-readable report: one table per plan, a summary, the advice. */
export function renderReport(r: ReplayReport): string {
  const out: string[] = [];
  const rec = r.records;
  out.push(
    `Read ${rec.read} usage lines from ${r.files.transcripts} transcript file(s), ${r.files.agent_sdk} Agent SDK file(s), ${r.files.messages_api} record file(s): ` +
      `${rec.programmatic + rec.interactive} records booked (${rec.programmatic} programmatic, ${rec.interactive} interactive), ` +
      `${rec.duplicates} duplicates dropped, ${rec.rejected} refused, ${rec.synthetic} synthetic, ${rec.invalid} unreadable` +
      (rec.filtered > 0 ? `, ${rec.filtered} outside --since/--until` : '') +
      (rec.missing_entrypoint > 0
        ? `; ${rec.missing_entrypoint} old lines without entrypoint counted as cli`
        : '') +
      '.',
  );
  const a = r.assumptions;
  const limit =
    a.usage_credit_limit_usd === null ? 'no limit' : `limit $${cents(a.usage_credit_limit_usd)} a month`;
  out.push(
    `Assumed: billing anchor ${a.anchor}, credit claimed ${a.claimed_at}, usage credits ${a.usage_credits}` +
      (a.usage_credits === 'on' ? ` (${limit})` : '') +
      '. Amounts in USD at API rates, rounded to the cent here (--json has them exact).',
  );
  for (const p of r.plans) {
    out.push('');
    const price =
      p.monthly_price_usd === null ? 'price not published' : `$${cents(p.monthly_price_usd)} a month`;
    out.push(`${p.label} (${p.plan}, ${price})`);
    const rows = p.cycles.map((c) => [
      `${day(c.start)}..${day(c.end)}`,
      String(c.records),
      cents(c.programmatic_usd),
      `${cents(c.sdk_credit_used_usd)}/${cents(c.sdk_credit_granted_usd)}`,
      minute(c.exhausted_at),
      cents(c.usage_credits_usd),
      cents(c.written_off_usd),
      cents(c.interactive_usd),
      c.windows_limited.length === 0
        ? '-'
        : c.windows_limited.map((w) => `${w.window} ${minute(w.limited_at)}`).join(', '),
    ]);
    const t = p.totals;
    rows.push([
      'total',
      String(p.cycles.reduce((n, c) => n + c.records, 0)),
      cents(t.programmatic_usd),
      cents(t.sdk_credit_used_usd),
      '',
      cents(t.usage_credits_usd),
      cents(t.written_off_usd),
      cents(t.interactive_usd),
      String(t.windows_limited),
    ]);
    out.push(
      table(
        [
          'cycle',
          'records',
          'programmatic',
          'credit used/granted',
          'credit ran out',
          'usage credits',
          'written off',
          'interactive',
          'limited windows',
        ],
        rows,
        [1, 2, 3, 5, 6, 7],
      ),
    );
    if (p.rejected.total > 0) {
      const codes = Object.entries(p.rejected.by_code)
        .map(([code, n]) => `${code} ${n}`)
        .join(', ');
      out.push(`refused: ${codes}`);
    }
  }
  out.push('', 'Summary');
  out.push(
    table(
      ['plan', 'cycles', 'subscription', 'usage credits billed', 'written off', 'total'],
      r.plans.map((p) => [
        p.plan,
        String(p.cycles.length),
        p.subscription_price_usd === null ? 'n/a' : cents(p.subscription_price_usd),
        cents(p.totals.usage_credits_billed_usd),
        cents(p.totals.written_off_usd),
        p.total_usd === null ? 'n/a' : cents(p.total_usd),
      ]),
      [1, 2, 3, 4, 5],
    ),
  );
  out.push('');
  out.push(
    r.cheapest === null
      ? 'Cheapest plan: none of these plans has a published price.'
      : `Cheapest plan: ${r.cheapest.plan}. ${r.cheapest.reason}.`,
  );
  if (r.issues_total > 0) {
    out.push('', `Input issues (${r.issues_total}; --json lists the first ${reportIssuesMax}):`);
    for (const issue of r.issues.slice(0, 10)) {
      out.push(
        `  ${issue.code}: ${issue.file ?? ''}${issue.line === undefined ? '' : `:${issue.line}`} ${issue.detail}`,
      );
    }
  }
  return `${out.join('\n')}\n`;
}
