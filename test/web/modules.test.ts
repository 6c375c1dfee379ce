/**
 * The dashboard's pure modules (web/js/money.js, burn.js, csv.js), run in Node: money stays exact
 * (R18) from the API's strings to the page's text, the burn-down is the running sum of the entries,
 * the forecast is integer arithmetic, and the CSV export keeps amounts as sent while neutralising
 * formula-like names. The browser test covers the rest of the page.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

interface Money {
  parseUsd(text: string): bigint;
  formatUnits(units: bigint): string;
  formatApprox(units: bigint): string;
  usd(text: string | null, none?: string): string;
  normalizeUsdInput(text: string): string | null;
  sumUsd(texts: Iterable<string>): bigint;
  compareUsd(a: string | null, b: string | null): number;
}
interface EntryLike {
  seq: number;
  at: string;
  kind: string;
  pool: string;
  amount_usd: string;
}
interface Burn {
  msPerDay: number;
  burnSeries(entries: EntryLike[], startMs: number): { t: number; credit: bigint; usageCredits: bigint }[];
  forecast(
    entries: EntryLike[],
    at: { nowMs: number; startMs: number; endMs: number; remainingUnits: bigint },
  ): {
    status: string;
    ratePerDayUnits?: bigint;
    runOutMs?: number;
    leftAtEndUnits?: bigint;
    fromMs?: number;
  };
}
interface Csv {
  entriesCsv(entries: Record<string, unknown>[]): string;
}

// The page's modules are plain browser JavaScript, outside the TypeScript project: loaded by URL,
// typed by the interfaces above.
const load = (name: string): Promise<unknown> =>
  import(new URL(`../../web/js/${name}`, import.meta.url).href);
const money = (await load('money.js')) as Money;
const burn = (await load('burn.js')) as Burn;
const csv = (await load('csv.js')) as Csv;

const usd = (text: string) => money.parseUsd(text);

describe('web/js/money.js', () => {
  it('parses exact decimal strings to 1e-12 units and back, without rounding', () => {
    assert.equal(usd('19.87345'), 19_873_450_000_000n);
    assert.equal(usd('0.000000000001'), 1n);
    assert.equal(usd('-5'), -5_000_000_000_000n);
    assert.equal(money.formatUnits(usd('19.873450000000')), '$19.87345');
    assert.equal(money.formatUnits(usd('3.2')), '$3.20');
    assert.equal(money.formatUnits(usd('1234567.5')), '$1,234,567.50');
    assert.equal(money.formatUnits(usd('0.000000000001')), '$0.000000000001');
    assert.equal(money.formatUnits(usd('-0.044')), '-$0.044');
    assert.equal(money.usd(null, 'none'), 'none');
  });

  it('refuses what is not an exact amount', () => {
    for (const bad of ['', '1e3', '0.1234567890123', '12,5', ' 1', 'NaN']) {
      assert.throws(() => money.parseUsd(bad), /not an exact USD amount/, bad);
    }
  });

  it('adds what floats would not: 0.1 + 0.2 is 0.3 exactly', () => {
    assert.equal(money.formatUnits(money.sumUsd(['0.1', '0.2'])), '$0.30');
    assert.equal(money.sumUsd(Array.from({ length: 1000 }, () => '0.001')), usd('1'));
  });

  it('rounds only estimates, half away from zero, and says so', () => {
    assert.equal(money.formatApprox(usd('4.605')), '≈ $4.61');
    assert.equal(money.formatApprox(usd('4.6049999')), '≈ $4.60');
    assert.equal(money.formatApprox(usd('-1.005')), '≈ -$1.01');
  });

  it('reads a typed limit: dollars, commas, empty for none; refuses the rest with a message', () => {
    assert.equal(money.normalizeUsdInput(' $1,000.50 '), '1000.50');
    assert.equal(money.normalizeUsdInput('25'), '25');
    assert.equal(money.normalizeUsdInput(''), null);
    assert.throws(() => money.normalizeUsdInput('-3'), /enter an amount/);
    assert.throws(() => money.normalizeUsdInput('ten'), /enter an amount/);
  });

  it('orders amounts exactly (sorting), nulls first', () => {
    const sorted = ['10', '9.99', null, '100', '0.000000000001'].sort(money.compareUsd);
    assert.deepEqual(sorted, [null, '0.000000000001', '9.99', '10', '100']);
  });
});

const start = Date.parse('2026-11-06T09:00:00Z');
const end = Date.parse('2026-12-06T09:00:00Z');
const day = 86_400_000;
let seq = 0;
const entry = (atMs: number, kind: string, pool: string, amount: string): EntryLike => ({
  seq: ++seq,
  at: new Date(atMs).toISOString(),
  kind,
  pool,
  amount_usd: amount,
});

describe('web/js/burn.js', () => {
  it('burnSeries: the running sums of the credit and usage-credit legs, one point per instant', () => {
    const entries = [
      entry(start, 'grant', 'sdk_credit', '20'),
      entry(start + day, 'usage', 'sdk_credit', '-0.1'),
      entry(start + day, 'usage', 'sdk_credit', '-0.2'),
      entry(start + day, 'usage', 'subscription', '5'),
      entry(start + 2 * day, 'usage', 'sdk_credit', '-19.7'),
      entry(start + 2 * day, 'usage', 'usage_credits', '0.25'),
      entry(start + 3 * day, 'reversal', 'usage_credits', '-0.25'),
    ];
    const points = burn.burnSeries(entries.reverse(), start);
    assert.deepEqual(
      points.map((p) => [p.t - start, money.formatUnits(p.credit), money.formatUnits(p.usageCredits)]),
      [
        [0, '$20.00', '$0.00'],
        [day, '$19.70', '$0.00'],
        [2 * day, '$0.00', '$0.25'],
        [3 * day, '$0.00', '$0.00'],
      ],
    );
  });

  it('forecast: the last 7 days of use, projected from what remains (integer arithmetic)', () => {
    const entries = [entry(start, 'grant', 'sdk_credit', '76')];
    // $1 a day for the first 8 days, then $4 a day for 7 days: only the last 7 count.
    for (let d = 0; d < 8; d++) entries.push(entry(start + d * day + 1000, 'usage', 'sdk_credit', '-1'));
    for (let d = 8; d < 15; d++) entries.push(entry(start + d * day + 1000, 'usage', 'sdk_credit', '-4'));
    const nowMs = start + 15 * day;
    const f = burn.forecast(entries, { nowMs, startMs: start, endMs: end, remainingUnits: usd('40') });
    assert.equal(f.status, 'runs_out');
    assert.equal(f.ratePerDayUnits, usd('4'));
    assert.equal(f.runOutMs, nowMs + 10 * day);
    assert.equal(f.fromMs, nowMs - 7 * day);
  });

  it('forecast: a credit that lasts the cycle leaves an amount that expires', () => {
    const entries = [entry(start, 'grant', 'sdk_credit', '20')];
    for (let d = 0; d < 10; d++) entries.push(entry(start + d * day + 1000, 'usage', 'sdk_credit', '-0.5'));
    const nowMs = start + 10 * day;
    const f = burn.forecast(entries, { nowMs, startMs: start, endMs: end, remainingUnits: usd('15') });
    assert.equal(f.status, 'lasts');
    assert.equal(f.ratePerDayUnits, usd('0.5'));
    // 20 days left at $0.50 a day: $10 more used, $5 left to expire.
    assert.equal(f.leftAtEndUnits, usd('5'));
  });

  it('forecast: none when used up, too early, or idle; the expiry and grants are not burn', () => {
    const grant = entry(start, 'grant', 'sdk_credit', '20');
    const at = (nowMs: number, remaining: string, entries: EntryLike[]) =>
      burn.forecast(entries, { nowMs, startMs: start, endMs: end, remainingUnits: usd(remaining) }).status;
    assert.equal(at(start + 5 * day, '0', [grant]), 'exhausted');
    assert.equal(at(start + 3_600_000, '20', [grant]), 'too_early');
    assert.equal(
      at(start + 5 * day, '20', [grant, entry(start + day, 'usage', 'subscription', '3')]),
      'idle',
    );
  });
});

describe('web/js/csv.js', () => {
  it('exports every column, amounts exactly as sent, quoting and formula neutralising where needed', () => {
    const text = csv.entriesCsv([
      {
        id: '7.sdk_credit',
        seq: 7,
        at: '2026-11-20T10:00:14Z',
        kind: 'usage',
        pool: 'sdk_credit',
        amount_usd: '-0.044000000001',
        ref: 'req_1',
        corrects: null,
        cycle_start: '2026-11-06T09:00:00Z',
        surface: 'sdk-cli',
        app: '=HYPERLINK("x")',
        model: 'claude-opus-5-5',
        note: 'a, "quoted" note',
      },
    ]);
    const [head, row, rest] = text.split('\r\n');
    assert.equal(head, 'id,seq,at,kind,pool,amount_usd,ref,corrects,cycle_start,surface,app,model,note');
    assert.equal(
      row,
      '7.sdk_credit,7,2026-11-20T10:00:14Z,usage,sdk_credit,-0.044000000001,req_1,,2026-11-06T09:00:00Z,sdk-cli,"\'=HYPERLINK(""x"")",claude-opus-5-5,"a, ""quoted"" note"',
    );
    assert.equal(rest, '');
  });
});
