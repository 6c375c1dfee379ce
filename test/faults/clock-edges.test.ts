/**
 * Clock edges, through the HTTP API with the test clock (`POST /v1/test-clock`): records and holds
 * exactly at a cycle boundary (cycles are half-open: the end instant belongs to the next cycle),
 * exactly at the close (end plus the 24 h late-event grace: a cycle is closed at that instant),
 * a hold's expiry instant, and jumps across several cycles at once: every skipped cycle is granted
 * and closed, in time order, each expiring exactly what it had left, and the journal read in order
 * never holds more than the grace overlap of two cycles' credit. `verifyLedger` after each case.
 *
 * The anchor is on the 31st at noon, so cycles clamp to month ends (Feb 28, Apr 30, …) and back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { verifyLedger } from '../../src/app/index.ts';
import { opus, startTestServer, type TestServer } from '../../src/http/test-harness.ts';

const anchor = '2027-01-31T12:00:00Z';
const hourMs = 3_600_000;
const graceMs = 24 * hourMs;
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const at = (text: string) => Date.parse(text);

interface Entry {
  seq: number;
  at: string;
  kind: string;
  pool: string;
  amount_usd: string;
  ref: string | null;
  cycle_start: string;
}

let t: TestServer;
before(async () => {
  t = await startTestServer({ start: anchor });
});
after(() => t.close());

async function call(method: string, url: string, body?: unknown) {
  const r = await t.call(method, url, body === undefined ? {} : { body });
  assert.ok(r.status < 500, `${method} ${url}: ${r.status} ${r.text}`);
  return r;
}

async function setClock(instant: string) {
  const r = await call('POST', '/v1/test-clock', { now: instant });
  assert.equal(r.status, 200, r.text);
}

async function account(id: string) {
  assert.equal(
    (await call('POST', '/v1/accounts', { id, kind: 'subscription', plan: 'pro', billing_anchor: anchor }))
      .status,
    201,
  );
  assert.equal((await call('POST', `/v1/accounts/${id}/claim`)).status, 200);
}

/** 1,000 input tokens of opus: $0.004. */
function record(id: string, accountId: string, occurredAt: string, inputTokens = 1_000) {
  return {
    id,
    account_id: accountId,
    occurred_at: occurredAt,
    surface: 'sdk-cli',
    model: opus,
    usage: { input_tokens: inputTokens, output_tokens: 0 },
  };
}

async function entries(id: string): Promise<Entry[]> {
  const r = await call('GET', `/v1/accounts/${id}/entries?limit=1000`);
  assert.equal(r.status, 200, r.text);
  return r.json.entries;
}

async function assertVerified() {
  assert.deepEqual((await verifyLedger(t.ctx)).problems, []);
}

describe('faults: clock edges', () => {
  it('records exactly at the boundary, one millisecond before it, and at the close', async () => {
    await account('edge_rec');
    // Cycle 1 is [Jan 31 12:00, Feb 28 12:00); it closes at Mar 1 12:00.
    const end = at('2027-02-28T12:00:00Z');
    await setClock(iso(end));
    let r = await call('POST', '/v1/usage', {
      records: [record('r_before', 'edge_rec', iso(end - 1)), record('r_at_end', 'edge_rec', iso(end))],
    });
    assert.deepEqual(
      r.json.results.map((x: { status: string }) => x.status),
      ['recorded', 'recorded'],
    );
    // One millisecond before the close, a late record of cycle 1 still lands in it; at the close it is too old.
    await setClock(iso(end + graceMs - 1));
    r = await call('POST', '/v1/usage', { records: [record('r_late', 'edge_rec', iso(end - 1))] });
    assert.equal(r.json.results[0].status, 'recorded');
    await setClock(iso(end + graceMs));
    r = await call('POST', '/v1/usage', { records: [record('r_too_late', 'edge_rec', iso(end - 1))] });
    assert.equal(r.json.results[0].status, 'rejected');
    assert.equal(r.json.results[0].error.code, 'event_too_old');
    const byRef = new Map(
      (await entries('edge_rec')).filter((e) => e.kind === 'usage').map((e) => [e.ref, e.cycle_start]),
    );
    assert.equal(byRef.get('r_before'), anchor);
    assert.equal(byRef.get('r_late'), anchor);
    assert.equal(byRef.get('r_at_end'), iso(end), 'the end instant belongs to the next cycle');
    assert.equal(byRef.has('r_too_late'), false);
    // Cycle 1 expired what was left after its two records (r_before, r_late), to the unit.
    const expiry = (await entries('edge_rec')).find((e) => e.kind === 'expire' && e.cycle_start === anchor);
    assert.equal(expiry?.amount_usd, '-19.992');
    await assertVerified();
  });

  it('holds at the boundary: before it in the old cycle, at it in the new one; released at their instants', async () => {
    await setClock('2027-03-31T11:00:00Z');
    await account('edge_hold');
    const end = at('2027-03-31T12:00:00Z'); // cycle [Feb 28, Mar 31) ends; it closes Apr 1 12:00
    await setClock(iso(end - 1));
    let r = await call('POST', '/v1/authorize', {
      account_id: 'edge_hold',
      surface: 'sdk-cli',
      model: opus,
      hold: { id: 'h_old', estimate_usd: '1', ttl_seconds: 86_400 },
    });
    assert.equal(r.json.decision, 'allow', r.text);
    // The longest TTL (24 h) from 1 ms before the end ends 1 ms before the old cycle's close.
    assert.equal(r.json.hold.expires_at, iso(end + graceMs - 1));
    await setClock(iso(end));
    r = await call('POST', '/v1/authorize', {
      account_id: 'edge_hold',
      surface: 'sdk-cli',
      model: opus,
      hold: { id: 'h_new', estimate_usd: '2', ttl_seconds: 600 },
    });
    assert.equal(r.json.decision, 'allow', r.text);
    assert.equal(r.json.hold.expires_at, iso(end + 600_000));
    let view = (await call('GET', '/v1/accounts/edge_hold')).json;
    assert.equal(view.cycle.start, iso(end));
    assert.equal(view.sdk_credit.held_usd, '2', 'the current cycle holds only the new hold');
    // One millisecond before its expiry a hold still holds; at the instant it is released.
    await setClock(iso(end + 600_000 - 1));
    assert.equal((await call('GET', '/v1/accounts/edge_hold')).json.sdk_credit.held_usd, '2');
    await setClock(iso(end + 600_000));
    view = (await call('GET', '/v1/accounts/edge_hold')).json;
    assert.equal(view.sdk_credit.held_usd, '0');
    // At the old cycle's close exactly: its hold is gone and its whole grant expires.
    await setClock(iso(end + graceMs));
    const closed = (
      await call('GET', `/v1/accounts/edge_hold/statements/${encodeURIComponent('2027-02-28T12:00:00Z')}`)
    ).json;
    assert.equal(closed.closed, true);
    assert.equal(closed.sdk_credit.expired_usd, '20');
    // The usage behind the expired hold still books, in the cycle it occurred in (the current one).
    r = await call('POST', '/v1/holds/h_old/settle', {
      record: record('r_settle_old', 'edge_hold', iso(end + graceMs)),
    });
    assert.equal(r.json.status, 'recorded', r.text);
    const settled = (await entries('edge_hold')).find((e) => e.ref === 'r_settle_old');
    assert.equal(settled?.cycle_start, iso(end));
    await assertVerified();
  });

  it('a jump across five cycles: each skipped cycle granted then closed, in time order', async () => {
    await setClock('2027-05-31T13:00:00Z');
    await account('edge_jump'); // claimed in cycle [May 31, Jun 30)
    const r = await call('POST', '/v1/usage', {
      records: [record('r_jump', 'edge_jump', '2027-05-31T13:00:00Z', 250)],
    });
    assert.equal(r.json.results[0].status, 'recorded');
    // Land exactly on a close instant: Nov 1 12:00 closes [Sep 30, Oct 31).
    await setClock('2027-11-01T12:00:00Z');
    const journal = await entries('edge_jump');
    const cycles = (await call('GET', '/v1/accounts/edge_jump/cycles')).json.cycles as {
      start: string;
      end: string;
      closed: boolean;
    }[];
    assert.deepEqual(
      cycles.map((c) => [c.start.slice(0, 10), c.closed]),
      [
        ['2027-05-31', true],
        ['2027-06-30', true],
        ['2027-07-31', true],
        ['2027-08-31', true],
        ['2027-09-30', true],
        ['2027-10-31', false],
      ],
    );
    // In journal order the instants never go back, and the expected events are all there.
    for (let i = 1; i < journal.length; i++) {
      assert.ok(
        at(journal[i]!.at) >= at(journal[i - 1]!.at),
        `entry ${journal[i]!.seq} before ${journal[i - 1]!.seq}`,
      );
    }
    const expected: [string, string, string][] = [];
    for (const [i, c] of cycles.entries()) {
      expected.push(['grant', c.start, i === 0 ? '2027-05-31T13:00:00Z' : c.start]);
      if (c.closed) expected.push(['expire', c.start, iso(at(c.end) + graceMs)]);
    }
    expected.sort((a, b) => at(a[2]) - at(b[2]));
    assert.deepEqual(
      journal.filter((e) => e.kind !== 'usage').map((e) => [e.kind, e.cycle_start, e.at]),
      expected,
    );
    // Each closed cycle expired exactly what it had left: the first one its grant less the record.
    for (const e of journal.filter((x) => x.kind === 'expire')) {
      assert.equal(e.amount_usd, e.cycle_start === cycles[0]!.start ? '-19.999' : '-20');
    }
    // Read in order, the credit on the books never exceeds one cycle's grant (the grace overlap aside,
    // where the next grant lands a day before the previous cycle's expiry).
    let balance = 0;
    let highest = 0;
    for (const e of journal.filter((x) => x.pool === 'sdk_credit')) {
      balance += Number(e.amount_usd);
      highest = Math.max(highest, balance);
    }
    assert.ok(highest <= 40, `the journal held $${highest} of credit at once`);
    assert.equal(balance.toFixed(3), '20.000');
    await assertVerified();
  });
});
