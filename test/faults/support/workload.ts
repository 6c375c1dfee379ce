/**
 * The mixed load of the fault tests and the soak: concurrent workers, each one request at a time,
 * sending authorize (with and without a hold), settle, void, usage batches with client-chosen ids,
 * and reads, from a seeded generator. Every answer is classified:
 *
 * - acknowledged: a 200 with the expected body. The tracker remembers what each acknowledged
 *   request booked (records, holds and their fate), so a test can check the database against it;
 * - not acknowledged: no answer (refused, reset, timed out) or 503 `unavailable`. The worker keeps
 *   the request and sends it again, with the same ids and the same body, until it is acknowledged:
 *   exactly what a gateway retrying after a crash does (R12 makes the second attempt a replay);
 * - unexpected: anything else (a 4xx, a 500, a malformed body). Counted with a sample; a test
 *   that expects none asserts the count is zero.
 *
 * `pause()` parks every worker between requests (the tests kill and restart the server, then
 * check, while nothing is sent); `resume()` lets them go on, sending their unacknowledged request
 * first. Ids carry the run's prefix, so runs against one database never collide.
 */
import { type HttpAnswer, HttpClient } from './http.ts';

export const opus = 'claude-opus-5-5';

export type OpKind = 'usage' | 'hold' | 'settle' | 'void' | 'authorize' | 'read';
export const opKinds: readonly OpKind[] = ['usage', 'hold', 'settle', 'void', 'authorize', 'read'];

export interface Op {
  kind: OpKind;
  method: 'GET' | 'POST';
  path: string;
  /**
   * The body, or a function that makes it at the first send (a settle's record is dated when it
   * is sent, not when its hold was acknowledged: a test-clock jump may fall in between). Every
   * re-send carries the body of the first send, unchanged.
   */
  body?: unknown;
  /** Usage and settle: the record ids it books. */
  recordIds: string[];
  accountId: string;
  holdId: string | null;
  /** Times sent so far. */
  sends: number;
}

export interface RecordFate {
  accountId: string;
  /** `sent`: never acknowledged yet; `booked`: acknowledged as recorded or replayed. */
  state: 'sent' | 'booked' | 'rejected';
  /** Acknowledged on a re-send after a failure: its first attempt may or may not have committed. */
  resent: boolean;
  /** The acknowledging answer's status for the record (`recorded`, `replayed`, `rejected`). */
  answer: string | null;
}

export interface HoldFate {
  accountId: string;
  /** `expired`: a void answered that the hold had expired first (a test-clock jump). */
  state: 'sent' | 'active' | 'settled' | 'voided' | 'expired' | 'denied';
  settleRecordId: string | null;
}

export interface WorkloadOptions {
  accounts: readonly string[];
  workers: number;
  seed: number;
  /** Prefix of every id this run generates. */
  runId: string;
  /** Records per usage batch. */
  batch: number;
  /** The `occurred_at` of new records: the server's clock (a test clock when it runs one). */
  occurredAt: () => string;
  /** Delay before re-sending an unacknowledged request. */
  retryDelayMs?: number;
  /** Called with every answer (the soak's latency windows). */
  onAnswer?: (kind: OpKind, answer: HttpAnswer, acknowledged: boolean, op: Op) => void;
  /** The client's bound on one request (default `requestTimeoutMs`). */
  requestTimeoutMs?: number;
}

/** Counts of a run, by kind. */
export interface WorkloadCounts {
  sent: Record<OpKind, number>;
  acknowledged: Record<OpKind, number>;
  /** Answers that were not acknowledgements: no answer, or 503. */
  unacknowledged: number;
  unavailable503: number;
  noAnswer: number;
  unexpected: number;
  unexpectedSamples: string[];
  /** Requests acknowledged only after at least one failed attempt. */
  resentAcknowledged: number;
  /** Of the records acknowledged on a re-send: the first attempt had committed (replayed). */
  resentRecordsReplayed: number;
  resentRecordsRecorded: number;
  /** Records refused (`rejected`) and holds denied. */
  refused: number;
  refusedSamples: string[];
}

const zeroByKind = (): Record<OpKind, number> => ({
  usage: 0,
  hold: 0,
  settle: 0,
  void: 0,
  authorize: 0,
  read: 0,
});

/** mulberry32: a small seeded generator, so a run's requests are the same every time. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Workload {
  readonly client: HttpClient;
  readonly records = new Map<string, RecordFate>();
  readonly holds = new Map<string, HoldFate>();
  readonly counts: WorkloadCounts = {
    sent: zeroByKind(),
    acknowledged: zeroByKind(),
    unacknowledged: 0,
    unavailable503: 0,
    noAnswer: 0,
    unexpected: 0,
    unexpectedSamples: [],
    resentAcknowledged: 0,
    resentRecordsReplayed: 0,
    resentRecordsRecorded: 0,
    refused: 0,
    refusedSamples: [],
  };
  readonly #o: WorkloadOptions;
  readonly #random: (() => number)[];
  /** Per worker: the request not yet acknowledged, sent again before anything new. */
  readonly #pending: (Op | null)[];
  /** Per worker: the follow-up of an acknowledged hold (its settle or void). */
  readonly #next: (Op | null)[];
  readonly #serial: number[];
  #workers: Promise<void>[] = [];
  #stopping = false;
  #paused = false;
  #parked = 0;
  #inFlight = 0;
  #resume: (() => void) | null = null;
  #resumed: Promise<void> = Promise.resolve();
  #parkedWaiters: (() => void)[] = [];

  constructor(url: string, token: string, options: WorkloadOptions) {
    this.#o = options;
    this.client = new HttpClient(url, token, options.workers + 4, options.requestTimeoutMs);
    this.#random = Array.from({ length: options.workers }, (_, w) => prng(options.seed * 1_000 + w));
    this.#pending = new Array(options.workers).fill(null);
    this.#next = new Array(options.workers).fill(null);
    this.#serial = new Array(options.workers).fill(0);
  }

  start(): void {
    this.#workers = Array.from({ length: this.#o.workers }, (_, w) => this.#run(w));
  }

  /** Parks every worker between two requests; resolves once all are parked. */
  async pause(): Promise<void> {
    if (!this.#paused) {
      this.#paused = true;
      this.#resumed = new Promise((resolve) => {
        this.#resume = resolve;
      });
    }
    while (this.#parked + this.#finished() < this.#o.workers) {
      await new Promise<void>((resolve) => this.#parkedWaiters.push(resolve));
    }
  }

  resume(): void {
    this.#paused = false;
    this.#resume?.();
    this.#resume = null;
  }

  /** Stops the workers after their current request (unacknowledged ones stay pending). */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.resume();
    await Promise.all(this.#workers);
    this.#workers = [];
  }

  /** Requests not acknowledged yet (at most one per worker). */
  pendingOps(): Op[] {
    return this.#pending.filter((op): op is Op => op !== null);
  }

  /**
   * After `stop()`: sends every pending request again until acknowledged, within `timeoutMs`;
   * also sends the follow-ups of acknowledged holds, so no hold is left active by the run.
   * Returns the number still unacknowledged (0 when all went through).
   */
  async drain(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (let w = 0; w < this.#o.workers; w++) {
      for (;;) {
        const op = this.#pending[w] ?? this.#next[w];
        if (!op) break;
        if (Date.now() > deadline) return this.pendingOps().length;
        this.#next[w] = null;
        this.#pending[w] = null;
        if (!(await this.#send(w, op))) {
          this.#pending[w] = op;
          await sleep(this.#o.retryDelayMs ?? 50);
        }
      }
    }
    return 0;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  #finished(): number {
    return this.#stopping ? this.#o.workers - this.#workers.length : 0;
  }

  async #run(w: number): Promise<void> {
    while (!this.#stopping) {
      if (this.#paused) {
        this.#parked += 1;
        for (const wake of this.#parkedWaiters.splice(0)) wake();
        await this.#resumed;
        this.#parked -= 1;
        continue;
      }
      const op = this.#pending[w] ?? this.#next[w] ?? this.#newOp(w);
      this.#pending[w] = null;
      this.#next[w] = null;
      if (!(await this.#send(w, op))) {
        this.#pending[w] = op;
        await sleep(this.#o.retryDelayMs ?? 50);
      }
    }
    // A worker that stops wakes a pause() waiting for it.
    for (const wake of this.#parkedWaiters.splice(0)) wake();
  }

  /** Sends once; true when acknowledged (the op is done), false when it must be sent again. */
  async #send(w: number, op: Op): Promise<boolean> {
    if (typeof op.body === 'function') op.body = (op.body as () => unknown)();
    op.sends += 1;
    this.counts.sent[op.kind] += 1;
    this.#inFlight += 1;
    const answer = await this.client.call(op.method, op.path, op.body);
    this.#inFlight -= 1;
    if (answer.status === 0 || answer.status === 503) {
      this.counts.unacknowledged += 1;
      if (answer.status === 0) this.counts.noAnswer += 1;
      else this.counts.unavailable503 += 1;
      if (answer.status === 503 && answer.json?.code !== 'unavailable') this.#unexpected(op, answer);
      this.#o.onAnswer?.(op.kind, answer, false, op);
      return false;
    }
    const ok = this.#acknowledge(w, op, answer);
    if (!ok) this.#unexpected(op, answer);
    this.#o.onAnswer?.(op.kind, answer, ok, op);
    return true;
  }

  #unexpected(op: Op, answer: HttpAnswer): void {
    this.counts.unexpected += 1;
    if (this.counts.unexpectedSamples.length < 10) {
      this.counts.unexpectedSamples.push(
        `${op.kind} ${op.path}: ${answer.status} ${answer.text.slice(0, 300)}`,
      );
    }
  }

  #refused(what: string): void {
    this.counts.refused += 1;
    if (this.counts.refusedSamples.length < 10) this.counts.refusedSamples.push(what);
  }

  /** Records what an answer acknowledges; false when the answer is not what the API promises. */
  #acknowledge(w: number, op: Op, answer: HttpAnswer): boolean {
    if (answer.status !== 200) return false;
    const json = answer.json;
    const resent = op.sends > 1;
    switch (op.kind) {
      case 'usage': {
        const results = json?.results;
        if (!Array.isArray(results) || results.length !== op.recordIds.length) return false;
        results.forEach(
          (result: { id: string; status: string; error?: { code: string } | null }, i: number) => {
            this.#recordAnswer(op.recordIds[i]!, result, resent);
          },
        );
        break;
      }
      case 'hold': {
        const fate = this.holds.get(op.holdId!)!;
        if (json?.decision === 'allow' && json.hold?.id === op.holdId) {
          fate.state = 'active';
          this.#next[w] = this.#followUp(w, op);
        } else if (json?.decision === 'deny') {
          fate.state = 'denied';
          this.#refused(`hold ${op.holdId} denied: ${json.reason}`);
        } else {
          return false;
        }
        break;
      }
      case 'settle': {
        if (typeof json?.status !== 'string') return false;
        this.#recordAnswer(op.recordIds[0]!, json, resent);
        if (json.status !== 'rejected') {
          const fate = this.holds.get(op.holdId!)!;
          fate.state = 'settled';
          fate.settleRecordId = op.recordIds[0]!;
        }
        break;
      }
      case 'void': {
        if (json?.status !== 'voided' && json?.status !== 'expired') return false;
        this.holds.get(op.holdId!)!.state = json.status;
        break;
      }
      case 'authorize':
        if (json?.decision !== 'allow' && json?.decision !== 'deny') return false;
        break;
      case 'read':
        if (typeof json !== 'object' || json === null) return false;
        break;
    }
    this.counts.acknowledged[op.kind] += 1;
    if (resent) this.counts.resentAcknowledged += 1;
    return true;
  }

  #recordAnswer(id: string, result: { status: string; error?: { code: string } | null }, resent: boolean) {
    const fate = this.records.get(id)!;
    fate.answer = result.status;
    fate.resent = resent;
    if (result.status === 'recorded' || result.status === 'replayed') {
      fate.state = 'booked';
      if (resent) {
        if (result.status === 'replayed') this.counts.resentRecordsReplayed += 1;
        else this.counts.resentRecordsRecorded += 1;
      }
    } else {
      fate.state = 'rejected';
      this.#refused(`record ${id}: ${result.error?.code ?? result.status}`);
    }
  }

  // ── the generator ──

  #id(w: number): string {
    this.#serial[w]! += 1;
    return `${this.#o.runId}-w${w}-${this.#serial[w]}`;
  }

  #account(w: number): string {
    const accounts = this.#o.accounts;
    return accounts[Math.floor(this.#random[w]!() * accounts.length)]!;
  }

  #record(w: number, id: string, accountId: string) {
    const random = this.#random[w]!;
    this.records.set(id, { accountId, state: 'sent', resent: false, answer: null });
    return {
      id,
      account_id: accountId,
      occurred_at: this.#o.occurredAt(),
      surface: 'sdk-cli',
      model: opus,
      usage: {
        input_tokens: 1 + Math.floor(random() * 5_000),
        output_tokens: 1 + Math.floor(random() * 2_000),
        cache_read_input_tokens: Math.floor(random() * 20_000),
      },
    };
  }

  #newOp(w: number): Op {
    const x = this.#random[w]!();
    const base = { recordIds: [] as string[], holdId: null as string | null, sends: 0 };
    if (x < 0.4) {
      const id = this.#id(w);
      const records = Array.from({ length: this.#o.batch }, (_, i) =>
        this.#record(w, `${id}-r${i}`, this.#account(w)),
      );
      return {
        ...base,
        kind: 'usage',
        method: 'POST',
        path: '/v1/usage',
        body: { records },
        recordIds: records.map((r) => r.id),
        accountId: records[0]!.account_id,
      };
    }
    const accountId = this.#account(w);
    if (x < 0.75) {
      const holdId = `${this.#id(w)}-h`;
      this.holds.set(holdId, { accountId, state: 'sent', settleRecordId: null });
      return {
        ...base,
        kind: 'hold',
        method: 'POST',
        path: '/v1/authorize',
        body: {
          account_id: accountId,
          surface: 'sdk-cli',
          model: opus,
          hold: { id: holdId, estimate_usd: '0.05' },
        },
        accountId,
        holdId,
      };
    }
    if (x < 0.9) {
      return {
        ...base,
        kind: 'authorize',
        method: 'POST',
        path: '/v1/authorize',
        body: { account_id: accountId, surface: 'sdk-cli', model: opus },
        accountId,
      };
    }
    const reads = [
      `/v1/accounts/${accountId}`,
      `/v1/accounts/${accountId}/statements/current`,
      `/v1/accounts/${accountId}/entries?limit=20`,
    ];
    return {
      ...base,
      kind: 'read',
      method: 'GET',
      path: reads[Math.floor(this.#random[w]!() * reads.length)]!,
      accountId,
    };
  }

  /** A hold is settled three times in four, voided otherwise. */
  #followUp(w: number, hold: Op): Op {
    const holdId = hold.holdId!;
    const base = { holdId, accountId: hold.accountId, sends: 0, method: 'POST' as const };
    if (this.#random[w]!() < 0.75) {
      const id = `${holdId}-s`;
      return {
        ...base,
        kind: 'settle',
        path: `/v1/holds/${encodeURIComponent(holdId)}/settle`,
        body: () => ({ record: this.#record(w, id, hold.accountId) }),
        recordIds: [id],
      };
    }
    return {
      ...base,
      kind: 'void',
      path: `/v1/holds/${encodeURIComponent(holdId)}/void`,
      body: { account_id: hold.accountId },
      recordIds: [],
    };
  }
}
