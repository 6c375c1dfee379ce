/**
 * The multi-process scenario (issue 5), written once and run against any set of running servers
 * that share one database: three `serve` processes on PostgreSQL, or one on SQLite.
 *
 * `driveScenario` sets the world up through the API, then runs seeded workers, each a bounded loop
 * (count and wall-clock cap), that authorize with holds, settle, void, report usage batches
 * (re-sent to a different process, sent to two processes at once, and re-sent with conflicting
 * content), switch usage credits (accounts and the org), and, from a coordinator, move every
 * process's test clock across a cycle boundary and then past the cycle's close. Every answer is
 * kept client-side (`Journal`).
 *
 * `checkScenario` then reads the database through a `Store` (servers stopped) and checks:
 * - `verifyLedger`: every cached figure equals its journal, org counters equal their members;
 * - no cycle's credit below zero, nor below its holds;
 * - no usage-credit limit exceeded: account, member, seat tier, org (limits never change here);
 * - every acknowledged record is booked exactly once, on its account, with the acknowledged cost
 *   and split; a record only ever refused is not booked; every replay equals the first answer;
 * - for every hold settled while it was certainly active: written off ≤ max(0, actual − estimate)
 *   (R11: the only overshoot is actual cost above the estimate).
 *
 * Time: test clocks are per process and frozen until moved. The scenario sets every clock to the
 * same instants, one process after the other, while the workers keep going, so processes disagree
 * for a moment at every move (T0 → T1 crosses the cycle boundary inside the late-event grace;
 * T1 → T2 passes the close of the old cycle).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppContext } from '../../src/app/index.ts';
import { defaultCatalogues, ManualClock, verifyLedger } from '../../src/app/index.ts';
import type { AccountAggregate, CycleRow, PostingRow } from '../../src/app/model.ts';
import type { ReadTx, Store } from '../../src/app/ports.ts';
import { cycleByIndex } from '../../src/core/cycles.ts';
import { formatUsd, parseUsd, unitsPerCent } from '../../src/core/money.ts';
import { lateGraceDefaultMs } from '../../src/core/policy.ts';
import { formatInstant, msPerMinute } from '../../src/core/time.ts';

export interface ScenarioOptions {
  seed: number;
  workers: number;
  opsPerWorker: number;
  /** Workers stop starting operations after this long, whatever their count. */
  timeCapMs: number;
}

/** $4 per million input tokens: one cent is exactly 2,500 input tokens. */
const model = 'claude-opus-5-5';
const tokensPerCent = 2500;
const orgId = 'org_mp';
const orgLimitCents = 1500;
const seatLimitsCents: Record<string, number> = { team_standard: 400 };
/** Attempts per request while the answer is a 503 or no answer at all (then: unknown outcome). */
const attemptsMax = 6;
const requestTimeoutMs = 15_000;

// ---------------------------------------------------------------------------------------------
// The world

interface AccountSpec {
  id: string;
  plan: string;
  org: boolean;
  /** Usage credits on at setup. */
  ucEnabled: boolean;
  /** The account's own monthly usage-credit limit; null = none. */
  ucLimitCents: number | null;
  /** An org member's limit set by the org admin; null = none. */
  memberLimitCents: number | null;
  kind: 'subscription' | 'api';
}

function world(): { hot: AccountSpec[]; many: AccountSpec[]; all: AccountSpec[] } {
  const spec = (over: Partial<AccountSpec> & { id: string }): AccountSpec => ({
    plan: 'pro',
    org: false,
    ucEnabled: true,
    ucLimitCents: null,
    memberLimitCents: null,
    kind: 'subscription',
    ...over,
  });
  const hot = [
    spec({ id: 'hot_a', ucLimitCents: 600 }),
    spec({ id: 'hot_b', ucLimitCents: 300, plan: 'max_5x' }),
    spec({ id: 'om_00', plan: 'team_standard', org: true, memberLimitCents: 300 }),
  ];
  const many: AccountSpec[] = [];
  for (let i = 0; i < 40; i++) {
    many.push(
      spec({
        id: `ind_${String(i).padStart(2, '0')}`,
        plan: i % 4 === 0 ? 'max_5x' : 'pro',
        ucEnabled: i % 3 !== 0,
        ucLimitCents: 100 + (i % 5) * 100,
      }),
    );
  }
  for (let i = 1; i < 12; i++) {
    many.push(
      spec({
        id: `om_${String(i).padStart(2, '0')}`,
        plan: i % 3 === 0 ? 'team_premium' : 'team_standard',
        org: true,
        ucEnabled: i % 4 !== 0,
        memberLimitCents: i % 2 === 0 ? 200 + i * 10 : null,
      }),
    );
  }
  many.push(spec({ id: 'api_0', kind: 'api', plan: '', ucEnabled: false }));
  return { hot, many, all: [...hot, ...many] };
}

// ---------------------------------------------------------------------------------------------
// What the client saw

export interface RecordAck {
  via: number;
  status: 'recorded' | 'replayed' | 'rejected';
  code: string | null;
  costUnits: bigint | null;
  charges: string;
  writtenOffUnits: bigint;
}

export interface RecordLog {
  account: string;
  acks: RecordAck[];
  /** Requests that carried the record and got no answer after every attempt. */
  unknown: number;
}

export interface HoldLog {
  account: string;
  estimateUnits: bigint;
  expiresAt: number;
  settle: { recordId: string; ack: RecordAck; boundApplies: boolean } | null;
  voided: boolean;
}

export interface Journal {
  records: Map<string, RecordLog>;
  holds: Map<string, HoldLog>;
  accounts: AccountSpec[];
  counts: Record<string, number>;
  /** Requests that never got a definite answer (after `attemptsMax` attempts). */
  unknownRequests: number;
  clockMoves: string[];
}

function count(journal: Journal, key: string, by = 1): void {
  journal.counts[key] = (journal.counts[key] ?? 0) + by;
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/** mulberry32: small, well distributed, repeatable (the harness prints its seed). */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (max: number) => Math.floor(next() * max),
    range: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
  };
}
type Rnd = ReturnType<typeof prng>;

// ---------------------------------------------------------------------------------------------
// HTTP

interface Answer {
  /** 0 = no answer (network error or timeout) after every attempt. */
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field.
  json: any;
}

class Client {
  readonly urls: string[];
  readonly token: string;
  readonly journal: Journal;
  constructor(urls: string[], token: string, journal: Journal) {
    this.urls = urls;
    this.token = token;
    this.journal = journal;
  }

  /**
   * One request to process `via`, retried with the same body while the answer is a 503
   * (store busy, writers collided) or no answer at all: the ids in it make a retry a replay.
   */
  async call(via: number, method: string, path: string, body?: unknown): Promise<Answer> {
    const url = `${this.urls[via % this.urls.length]}${path}`;
    for (let attempt = 1; ; attempt++) {
      let answer: Answer;
      try {
        const response = await fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${this.token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
        const text = await response.text();
        answer = { status: response.status, json: text.length > 0 ? JSON.parse(text) : null };
      } catch {
        answer = { status: 0, json: null };
      }
      if (answer.status !== 503 && answer.status !== 0) return answer;
      count(this.journal, answer.status === 503 ? 'retried_503' : 'retried_no_answer');
      if (attempt >= attemptsMax) {
        this.journal.unknownRequests += 1;
        return answer.status === 503 ? answer : { status: 0, json: null };
      }
      await sleep(20 * 2 ** attempt);
    }
  }

  /** Like `call`, for setup: anything but the expected status fails the run. */
  async must(via: number, method: string, path: string, body: unknown, status: number): Promise<Answer> {
    const answer = await this.call(via, method, path, body);
    assert.equal(answer.status, status, `${method} ${path}: ${answer.status} ${JSON.stringify(answer.json)}`);
    return answer;
  }
}

function usd(cents: number): string {
  return formatUsd(BigInt(cents) * unitsPerCent);
}

// ---------------------------------------------------------------------------------------------
// Time

export interface Timeline {
  anchor: number;
  /** Start of cycle 1: the boundary the clocks cross. */
  boundary: number;
  setup: number;
  t0: number;
  t1: number;
  t2: number;
}

/**
 * Instants at least a month after the real time (test clocks start at the real time and only move
 * forward), on the 10th of a month at noon so no day is clamped (R4).
 */
export function timeline(realNow: number): Timeline {
  const d = new Date(realNow);
  const anchor = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 2, 10, 12, 0, 0);
  const boundary = cycleByIndex(anchor, 1).start;
  return {
    anchor,
    boundary,
    setup: boundary - 2 * 60 * msPerMinute,
    t0: boundary - msPerMinute,
    t1: boundary + msPerMinute,
    // Past the close of cycle 0 (its end plus the grace): every cycle-0 hold expires there.
    t2: boundary + lateGraceDefaultMs + 2 * msPerMinute,
  };
}

// ---------------------------------------------------------------------------------------------
// Driving

interface Shared {
  client: Client;
  journal: Journal;
  rnd: Rnd;
  hot: AccountSpec[];
  many: AccountSpec[];
  /** The latest instant every process's clock has reached: records dated then are never "future". */
  settledInstant: number;
  /** The latest instant any process's clock may have reached (a move may be under way). */
  reachedInstant: number;
  tl: Timeline;
  nextId: number;
}

function pickAccount(s: Shared, rnd: Rnd, subscriptionOnly = false): AccountSpec {
  const pool = rnd.chance(0.4) ? s.hot : s.many;
  const a = rnd.pick(pool);
  return subscriptionOnly && a.kind === 'api' ? s.hot[0]! : a;
}

function recordLog(s: Shared, id: string, account: string): RecordLog {
  let log = s.journal.records.get(id);
  if (!log) {
    log = { account, acks: [], unknown: 0 };
    s.journal.records.set(id, log);
  }
  return log;
}

function ackOf(via: number, r: Answer['json']): RecordAck {
  return {
    via,
    status: r.status,
    code: r.error?.code ?? null,
    costUnits: r.cost_usd === null || r.cost_usd === undefined ? null : parseUsd(r.cost_usd),
    charges: JSON.stringify(r.charges),
    writtenOffUnits: parseUsd(r.written_off_usd),
  };
}

function usageRecord(id: string, account: string, at: number, cents: number, surface = 'sdk-cli') {
  return {
    id,
    account_id: account,
    occurred_at: formatInstant(at),
    surface,
    model,
    usage: { input_tokens: cents * tokensPerCent, output_tokens: 0 },
  };
}

/** A record's date: mostly the instant every process has reached, sometimes up to 90 min late. */
function recordInstant(s: Shared, rnd: Rnd): number {
  return rnd.chance(0.2) ? s.settledInstant - rnd.int(90) * msPerMinute : s.settledInstant;
}

async function sendBatch(s: Shared, via: number, records: ReturnType<typeof usageRecord>[]): Promise<void> {
  const answer = await s.client.call(via, 'POST', '/v1/usage', { records });
  if (answer.status === 0 || answer.status === 503) {
    for (const r of records) recordLog(s, r.id, r.account_id).unknown += 1;
    return;
  }
  assert.equal(answer.status, 200, `POST /v1/usage: ${answer.status} ${JSON.stringify(answer.json)}`);
  const results = answer.json.results as Answer['json'][];
  assert.equal(results.length, records.length);
  records.forEach((r, i) => {
    const result = results[i]!;
    assert.equal(result.id, r.id);
    const ack = ackOf(via, result);
    recordLog(s, r.id, r.account_id).acks.push(ack);
    count(s.journal, `usage_${ack.status}${ack.code ? `_${ack.code}` : ''}`);
  });
}

async function opUsage(s: Shared, rnd: Rnd): Promise<void> {
  const n = s.client.urls.length;
  const via = rnd.int(n);
  const size = rnd.range(1, 12);
  const records = Array.from({ length: size }, () => {
    const account = pickAccount(s, rnd);
    const surface = rnd.chance(0.15) ? 'cli' : 'sdk-cli';
    return usageRecord(`r${s.nextId++}`, account.id, recordInstant(s, rnd), rnd.range(5, 150), surface);
  });
  const twice = rnd.chance(0.1);
  if (twice) {
    // The same batch to two processes at once: one books, the other replays (or waits, then replays).
    count(s.journal, 'batches_sent_concurrently');
    await Promise.all([sendBatch(s, via, records), sendBatch(s, via + 1, records)]);
  } else {
    await sendBatch(s, via, records);
  }
  if (rnd.chance(0.25)) {
    // A gateway re-sending the batch after a lost answer, to another process.
    count(s.journal, 'batches_resent');
    await sendBatch(s, via + 1 + rnd.int(Math.max(1, n - 1)), records);
  }
  if (rnd.chance(0.15)) {
    // Same id, other content: refused as a conflict when the first one was booked.
    const original = rnd.pick(records);
    const conflicting = {
      ...original,
      usage: { input_tokens: original.usage.input_tokens + tokensPerCent, output_tokens: 0 },
    };
    count(s.journal, 'conflicting_sent');
    await sendBatch(s, via + rnd.int(n), [conflicting]);
  }
}

async function opHold(s: Shared, rnd: Rnd): Promise<void> {
  const n = s.client.urls.length;
  const account = pickAccount(s, rnd, true);
  const holdId = `h${s.nextId++}`;
  const estimateCents = rnd.range(5, 150);
  const surface = rnd.chance(0.1) ? 'cli' : 'sdk-cli';
  const body = {
    account_id: account.id,
    surface,
    model,
    hold: { id: holdId, estimate_usd: usd(estimateCents) },
  };
  const via = rnd.int(n);
  const answer = await s.client.call(via, 'POST', '/v1/authorize', body);
  if (answer.status !== 200) {
    assert.ok(
      answer.status === 0 || answer.status === 503,
      `authorize: ${answer.status} ${JSON.stringify(answer.json)}`,
    );
    count(s.journal, 'authorize_unknown');
    return;
  }
  if (answer.json.decision !== 'allow') {
    count(s.journal, `authorize_deny_${answer.json.reason}`);
    return;
  }
  count(s.journal, 'holds_placed');
  const hold: HoldLog = {
    account: account.id,
    estimateUnits: parseUsd(answer.json.hold.amount_usd),
    expiresAt: Date.parse(answer.json.hold.expires_at),
    settle: null,
    voided: false,
  };
  assert.equal(hold.estimateUnits, BigInt(estimateCents) * unitsPerCent);
  s.journal.holds.set(holdId, hold);
  if (rnd.chance(0.1)) {
    const again = await s.client.call(via + 1, 'POST', '/v1/authorize', body);
    if (again.status === 200) {
      assert.equal(again.json.replayed, true, `authorize replay: ${JSON.stringify(again.json)}`);
      assert.equal(again.json.hold.amount_usd, answer.json.hold.amount_usd);
      count(s.journal, 'authorize_replayed');
    }
  }
  if (rnd.chance(0.05)) {
    const other = { ...body, hold: { id: holdId, estimate_usd: usd(estimateCents + 1) } };
    const conflict = await s.client.call(via + 2, 'POST', '/v1/authorize', other);
    if (conflict.status !== 0 && conflict.status !== 503) {
      assert.equal(conflict.status, 409, `authorize conflict: ${JSON.stringify(conflict.json)}`);
      count(s.journal, 'authorize_conflict');
    }
  }
  const fate = rnd.next();
  if (fate < 0.7) {
    // Settle at the instant the hold was placed (its creator's clock): the request's own time.
    const placedAt = hold.expiresAt - 10 * msPerMinute;
    const costCents = Math.max(1, Math.round(estimateCents * (0.4 + rnd.next() * 1.3)));
    const recordId = `s_${holdId}`;
    const record = usageRecord(recordId, account.id, placedAt, costCents, surface);
    // The bound applies when no process can have expired the hold yet.
    const boundApplies = s.reachedInstant < hold.expiresAt;
    const settleVia = rnd.int(n);
    const settled = await s.client.call(settleVia, 'POST', `/v1/holds/${holdId}/settle`, { record });
    if (settled.status !== 200) {
      assert.ok(
        settled.status === 0 || settled.status === 503,
        `settle ${holdId} of ${account.id} via ${settleVia}: ${settled.status} ${JSON.stringify(settled.json)}`,
      );
      recordLog(s, recordId, account.id).unknown += 1;
      count(s.journal, 'settle_unknown');
      return;
    }
    const ack = ackOf(settleVia, settled.json);
    recordLog(s, recordId, account.id).acks.push(ack);
    hold.settle = { recordId, ack, boundApplies };
    count(s.journal, `settle_${ack.status}${ack.code ? `_${ack.code}` : ''}`);
    if (rnd.chance(0.2)) {
      const again = await s.client.call(settleVia + 1, 'POST', `/v1/holds/${holdId}/settle`, { record });
      if (again.status === 200) {
        recordLog(s, recordId, account.id).acks.push(ackOf(settleVia + 1, again.json));
        count(s.journal, 'settle_resent');
      }
    }
  } else if (fate < 0.9) {
    const voided = await s.client.call(rnd.int(n), 'POST', `/v1/holds/${holdId}/void`, {
      account_id: account.id,
    });
    if (voided.status === 200) {
      hold.voided = true;
      count(s.journal, 'holds_voided');
    } else {
      assert.ok([0, 503].includes(voided.status), `void: ${voided.status} ${JSON.stringify(voided.json)}`);
    }
  } else {
    count(s.journal, 'holds_abandoned');
  }
}

async function opSwitch(s: Shared, rnd: Rnd): Promise<void> {
  const n = s.client.urls.length;
  if (rnd.chance(0.15)) {
    const answer = await s.client.call(rnd.int(n), 'PUT', `/v1/orgs/${orgId}/usage-credits`, {
      enabled: rnd.chance(0.7),
      monthly_limit_usd: usd(orgLimitCents),
    });
    assert.ok(
      [200, 0, 503].includes(answer.status),
      `org switch: ${answer.status} ${JSON.stringify(answer.json)}`,
    );
    count(s.journal, 'org_switches');
    return;
  }
  const account = pickAccount(s, rnd, true);
  const limit = account.ucLimitCents === null ? null : usd(account.ucLimitCents);
  const answer = await s.client.call(rnd.int(n), 'PUT', `/v1/accounts/${account.id}/usage-credits`, {
    enabled: rnd.chance(0.6),
    monthly_limit_usd: limit,
  });
  assert.ok([200, 0, 503].includes(answer.status), `switch: ${answer.status} ${JSON.stringify(answer.json)}`);
  count(s.journal, 'uc_switches');
}

async function opGate(s: Shared, rnd: Rnd): Promise<void> {
  const account = pickAccount(s, rnd, true);
  const answer = await s.client.call(rnd.int(s.client.urls.length), 'POST', '/v1/authorize', {
    account_id: account.id,
    surface: 'sdk-cli',
    model,
  });
  assert.ok([200, 0, 503].includes(answer.status), `gate: ${answer.status} ${JSON.stringify(answer.json)}`);
  count(s.journal, answer.status === 200 ? `gate_${answer.json.decision}` : 'gate_unknown');
}

/** Moves every process's clock to `to`, one process after the other (they disagree meanwhile). */
async function moveClocks(s: Shared, to: number): Promise<void> {
  s.reachedInstant = Math.max(s.reachedInstant, to);
  const order = s.client.urls.map((_, i) => i);
  // Not always the same process first: each one gets to be ahead of the others.
  const first = s.rnd.int(order.length);
  for (let k = 0; k < order.length; k++) {
    const via = (first + k) % order.length;
    await s.client.must(via, 'POST', '/v1/test-clock', { now: formatInstant(to) }, 200);
    // A short pause with the processes disagreeing, while the workers keep going.
    await sleep(150);
  }
  s.settledInstant = to;
  s.journal.clockMoves.push(formatInstant(to));
}

async function setup(s: Shared, accounts: AccountSpec[]): Promise<void> {
  const c = s.client;
  for (let via = 0; via < c.urls.length; via++) {
    await c.must(via, 'POST', '/v1/test-clock', { now: formatInstant(s.tl.setup) }, 200);
  }
  await c.must(0, 'POST', '/v1/orgs', { id: orgId, billing_anchor: formatInstant(s.tl.anchor) }, 201);
  let next = 0;
  const worker = async (w: number) => {
    while (next < accounts.length) {
      const a = accounts[next++]!;
      const via = w;
      if (a.kind === 'api') {
        await c.must(via, 'POST', '/v1/accounts', { id: a.id, kind: 'api' }, 201);
        continue;
      }
      await c.must(
        via,
        'POST',
        '/v1/accounts',
        a.org
          ? { id: a.id, kind: 'subscription', plan: a.plan, org_id: orgId }
          : { id: a.id, kind: 'subscription', plan: a.plan, billing_anchor: formatInstant(s.tl.anchor) },
        201,
      );
      await c.must(via, 'POST', `/v1/accounts/${a.id}/claim`, undefined, 200);
      await c.must(
        via,
        'PUT',
        `/v1/accounts/${a.id}/usage-credits`,
        { enabled: a.ucEnabled, monthly_limit_usd: a.ucLimitCents === null ? null : usd(a.ucLimitCents) },
        200,
      );
    }
  };
  await Promise.all(Array.from({ length: 4 }, (_, w) => worker(w)));
  const memberLimits: Record<string, string> = {};
  for (const a of accounts) if (a.memberLimitCents !== null) memberLimits[a.id] = usd(a.memberLimitCents);
  const seatLimits: Record<string, string> = {};
  for (const [seat, cents] of Object.entries(seatLimitsCents)) seatLimits[seat] = usd(cents);
  await c.must(
    0,
    'PUT',
    `/v1/orgs/${orgId}/usage-credits`,
    {
      enabled: true,
      monthly_limit_usd: usd(orgLimitCents),
      seat_tier_limits_usd: seatLimits,
      member_limits_usd: memberLimits,
    },
    200,
  );
}

/**
 * Runs the scenario against running servers (one URL per process, all on one database) and
 * returns what the client saw. Bounded: `workers × opsPerWorker` operations at most, none started
 * after `timeCapMs`.
 */
export async function driveScenario(
  urls: string[],
  token: string,
  options: ScenarioOptions,
): Promise<Journal> {
  const { hot, many, all } = world();
  const journal: Journal = {
    records: new Map(),
    holds: new Map(),
    accounts: all,
    counts: {},
    unknownRequests: 0,
    clockMoves: [],
  };
  const tl = timeline(Date.now());
  const s: Shared = {
    client: new Client(urls, token, journal),
    journal,
    rnd: prng(options.seed),
    hot,
    many,
    settledInstant: tl.setup,
    reachedInstant: tl.setup,
    tl,
    nextId: 0,
  };
  await setup(s, all);
  await moveClocks(s, tl.t0);

  const total = options.workers * options.opsPerWorker;
  let done = 0;
  const started = Date.now();
  const deadline = started + options.timeCapMs;
  // The first failure stops every worker (and the coordinator) at its next step.
  let failed = false;
  const worker = async (w: number) => {
    const rnd = prng(options.seed * 1000 + w + 1);
    for (let op = 0; op < options.opsPerWorker && Date.now() < deadline && !failed; op++) {
      const x = rnd.next();
      if (x < 0.4) await opUsage(s, rnd);
      else if (x < 0.8) await opHold(s, rnd);
      else if (x < 0.9) await opSwitch(s, rnd);
      else await opGate(s, rnd);
      done += 1;
    }
  };
  // The coordinator: moves the clocks at a third and two thirds of the run (by count or by time).
  const coordinator = async () => {
    for (const [fraction, to] of [
      [1 / 3, tl.t1],
      [2 / 3, tl.t2],
    ] as const) {
      while (done < total * fraction && Date.now() < started + options.timeCapMs * fraction && !failed) {
        await sleep(20);
      }
      if (failed) return;
      await moveClocks(s, to);
    }
  };
  const settled = await Promise.allSettled(
    [coordinator(), ...Array.from({ length: options.workers }, (_, w) => worker(w))].map((p) =>
      p.catch((error: unknown) => {
        failed = true;
        throw error;
      }),
    ),
  );
  const failure = settled.find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;
  count(journal, 'operations', done);
  return journal;
}

// ---------------------------------------------------------------------------------------------
// Checking

export interface CheckReport {
  postings: number;
  recordsAcknowledged: number;
  recordsOnlyRefused: number;
  holdsBoundChecked: number;
  overshootUnits: bigint;
  overshootBoundUnits: bigint;
}

async function allPostings(tx: ReadTx, accountNo: number): Promise<PostingRow[]> {
  const out: PostingRow[] = [];
  let afterSeq = 0;
  for (;;) {
    const page = await tx.listPostings(accountNo, { afterSeq, limit: 10_000 });
    out.push(...page);
    if (page.length < 10_000) return out;
    afterSeq = page[page.length - 1]!.seq;
  }
}

function chargesOf(p: PostingRow): string {
  const charges: { source: string; amount_usd: string }[] = [];
  if (p.creditUnits !== 0n) charges.push({ source: 'sdk_credit', amount_usd: formatUsd(-p.creditUnits) });
  if (p.ucUnits !== 0n) charges.push({ source: 'usage_credits', amount_usd: formatUsd(p.ucUnits) });
  if (p.subscriptionUnits !== 0n)
    charges.push({ source: 'subscription', amount_usd: formatUsd(p.subscriptionUnits) });
  if (p.paygUnits !== 0n) charges.push({ source: 'pay_as_you_go', amount_usd: formatUsd(p.paygUnits) });
  return JSON.stringify(charges);
}

/** Checks the database against the ledger's invariants and the client's journal; throws on the first list of problems. */
export async function checkScenario(store: Store, journal: Journal): Promise<CheckReport> {
  const ctx: AppContext = { store, clock: new ManualClock(0), catalogues: defaultCatalogues };
  const problems: string[] = [];
  const verified = await verifyLedger(ctx);
  problems.push(...verified.problems.map((p) => `verify: ${p}`));

  const specs = new Map(journal.accounts.map((a) => [a.id, a]));
  const booked = new Map<string, { account: string; posting: PostingRow; count: number }>();
  const orgSpend = new Map<number, bigint>();
  let postings = 0;
  let orgNo: number | null = null;
  let orgCycles: number[] = [];
  await store.read(async (tx) => {
    const org = await tx.getOrg(orgId);
    assert.ok(org, 'the org exists');
    orgNo = org.no;
    for (const spec of journal.accounts) {
      const agg = (await tx.getAccount(spec.id)) as AccountAggregate;
      assert.ok(agg, `account ${spec.id} exists`);
      const cycles: CycleRow[] = await tx.listCycles(agg.account.no);
      for (const c of cycles) {
        const remaining = c.grantedUnits + c.creditAdjustedUnits - c.creditUsedUnits - c.expiredUnits;
        if (remaining < 0n) problems.push(`${spec.id} cycle ${c.index}: credit below zero (${remaining})`);
        if (remaining - c.creditHeldUnits < 0n) {
          problems.push(
            `${spec.id} cycle ${c.index}: holds ${c.creditHeldUnits} above the credit left ${remaining}`,
          );
        }
        const ucUsed = c.ucChargedUnits + c.ucHeldUnits;
        const cap = (cents: number | null | undefined, what: string) => {
          if (cents === null || cents === undefined) return;
          const limit = BigInt(cents) * unitsPerCent;
          if (ucUsed > limit)
            problems.push(
              `${spec.id} cycle ${c.index}: usage credits ${ucUsed} above the ${what} limit ${limit}`,
            );
        };
        cap(spec.ucLimitCents, 'account');
        if (spec.org) {
          cap(spec.memberLimitCents, 'member');
          cap(seatLimitsCents[spec.plan], 'seat tier');
          orgSpend.set(c.start, (orgSpend.get(c.start) ?? 0n) + c.ucChargedUnits);
        } else if (c.ucChargedUnits !== 0n && spec.kind === 'api') {
          problems.push(`${spec.id}: an api account charged usage credits`);
        }
      }
      for (const p of await allPostings(tx, agg.account.no)) {
        postings += 1;
        if (p.idem === null || !p.idem.startsWith('u:')) continue;
        const id = p.idem.slice(2);
        const seen = booked.get(id);
        if (seen) seen.count += 1;
        else booked.set(id, { account: spec.id, posting: p, count: 1 });
      }
    }
    orgCycles = [...orgSpend.keys()];
    for (const start of orgCycles) {
      const counter = await tx.getOrgCycle(org.no, start);
      const limit = BigInt(orgLimitCents) * unitsPerCent;
      const members = orgSpend.get(start)!;
      if (members > limit)
        problems.push(`org cycle ${start}: members spent ${members} above the org limit ${limit}`);
      if (counter && counter.ucSpentUnits + counter.ucHeldUnits > limit) {
        problems.push(
          `org cycle ${start}: counter ${counter.ucSpentUnits}+${counter.ucHeldUnits} above the org limit ${limit}`,
        );
      }
    }
  });
  assert.ok(orgNo !== null && specs.size > 0);

  // Exactly once: every id the client saw acknowledged is booked once, as acknowledged.
  let recordsAcknowledged = 0;
  let recordsOnlyRefused = 0;
  for (const [id, log] of journal.records) {
    const found = booked.get(id);
    const accepted = log.acks.filter((a) => a.status !== 'rejected');
    const conflicts = log.acks.filter((a) => a.code === 'idempotency_conflict');
    if (found && found.count !== 1) problems.push(`record ${id}: booked ${found.count} times`);
    if (found && found.account !== log.account)
      problems.push(`record ${id}: booked on ${found.account}, sent for ${log.account}`);
    if (accepted.length > 0) {
      recordsAcknowledged += 1;
      if (!found) {
        problems.push(`record ${id}: acknowledged ${accepted[0]!.status} but not booked`);
        continue;
      }
      if (accepted.filter((a) => a.status === 'recorded').length > 1)
        problems.push(`record ${id}: recorded twice`);
      for (const a of accepted) {
        if (
          a.costUnits !== found.posting.costUnits ||
          a.charges !== chargesOf(found.posting) ||
          a.writtenOffUnits !== found.posting.writtenOffUnits
        ) {
          problems.push(
            `record ${id}: ${a.status} via ${a.via} says cost ${a.costUnits} ${a.charges} w/o ${a.writtenOffUnits}; booked ${found.posting.costUnits} ${chargesOf(found.posting)} w/o ${found.posting.writtenOffUnits}`,
          );
        }
      }
    } else if (conflicts.length > 0) {
      // Refused as a conflict: some content under this id was booked, by an answer that got lost.
      if (!found && log.unknown === 0)
        problems.push(`record ${id}: refused as a conflict, but nothing is booked`);
    } else if (log.unknown === 0) {
      if (log.acks.length > 0) recordsOnlyRefused += 1;
      if (found)
        problems.push(
          `record ${id}: only ever refused (${log.acks.map((a) => a.code).join(', ')}) but booked`,
        );
    }
  }
  for (const id of booked.keys()) {
    if (!journal.records.has(id)) problems.push(`record ${id}: booked, but never sent`);
  }

  // R11: a hold settled while active overshoots by at most the actual cost above its estimate.
  let holdsBoundChecked = 0;
  let overshootUnits = 0n;
  let overshootBoundUnits = 0n;
  for (const [holdId, hold] of journal.holds) {
    const s = hold.settle;
    if (!s?.boundApplies || s.ack.status !== 'recorded') continue;
    holdsBoundChecked += 1;
    const cost = s.ack.costUnits!;
    const bound = cost > hold.estimateUnits ? cost - hold.estimateUnits : 0n;
    overshootUnits += s.ack.writtenOffUnits;
    overshootBoundUnits += bound;
    if (s.ack.writtenOffUnits > bound) {
      const row = await store.read(async (tx) => {
        const agg = await tx.getAccount(hold.account);
        return agg && tx.getHold(agg.account.no, holdId);
      });
      problems.push(
        `hold ${holdId} on ${hold.account}: estimate ${hold.estimateUnits}, cost ${cost}, written off ${s.ack.writtenOffUnits} > ${bound}; ` +
          `${row?.source} ${row?.usageClass}, reserved ${row?.creditUnits} credit + ${row?.ucUnits} usage credits in cycle ${row?.cycleStart}, ${row?.status}`,
      );
    }
  }

  if (problems.length > 0) {
    const shown = problems.slice(0, 40).join('\n');
    throw new Error(`${problems.length} problem(s):\n${shown}${problems.length > 40 ? '\n…' : ''}`);
  }
  return {
    postings,
    recordsAcknowledged,
    recordsOnlyRefused,
    holdsBoundChecked,
    overshootUnits,
    overshootBoundUnits,
  };
}
