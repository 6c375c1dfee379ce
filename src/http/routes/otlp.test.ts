/**
 * `POST /v1/otlp/v1/logs` with the ingest adapter's real-shaped OTLP/JSON export
 * (`adapters/ingest/otlp/fixtures/claude-code-logs.json`): six log records, of which three are
 * `api_request` events:
 *
 * - `req_011CeXE7jFvq92cXT1kLYChE`, claude-opus-5-5, `app.entrypoint` sdk-cli (programmatic),
 *   2026-11-20T10:00:14Z: 1,000 input × $4 + 3,000 5-minute cache writes × $5 + 50,000 cache reads
 *   × $0.20 + 2,000 output × $20, per million = 0.004 + 0.015 + 0.01 + 0.04 = **$0.069**, from the
 *   Agent SDK credit (the client's own estimate, 0.1161, is never used).
 * - `req_011CeXF2aQ7wYbZc3dE4fG5h`, claude-haiku-4-5-20251001, no `app.entrypoint` (the default
 *   surface `cli` applies: interactive), 10:00:30.5Z from `timeUnixNano`: 897 × $1 + 9 × $5 per
 *   million = **$0.000942**, counted against the subscription limits.
 * - `req_011CeXGbroken00000000000`: `input_tokens` is 12.5, refused by the mapper.
 *
 * The other three events (user_prompt, tool_result, api_error) are accepted and ignored.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { startTestServer, type TestServer, testAnchor } from '../test-harness.ts';
import { otlpOptionsFromEnv } from './otlp.ts';

const fixtureText = readFileSync(
  join(import.meta.dirname, '..', '..', 'adapters', 'ingest', 'otlp', 'fixtures', 'claude-code-logs.json'),
  'utf8',
);
const account = 'acc-5f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b';
const path = '/v1/otlp/v1/logs';

/** The fixture with every `user.account_uuid` replaced (an account the server does not know). */
function withAccount(id: string): string {
  return fixtureText.replaceAll(account, id);
}

async function setUpAccount(t: TestServer): Promise<void> {
  let r = await t.call('POST', '/v1/accounts', {
    body: { id: account, kind: 'subscription', plan: 'pro', billing_anchor: testAnchor },
  });
  assert.equal(r.status, 201, r.text);
  r = await t.call('POST', `/v1/accounts/${account}/claim`);
  assert.equal(r.status, 200, r.text);
}

async function statement(t: TestServer) {
  const r = await t.call('GET', `/v1/accounts/${account}/statements/current`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

describe('http: POST /v1/otlp/v1/logs', () => {
  let t: TestServer;
  let meter: string;
  before(async () => {
    // The server reads its OTLP mapping from the environment when not given options.
    process.env.CREDITPOOL_OTLP_DEFAULT_SURFACE = 'cli';
    try {
      t = await startTestServer();
    } finally {
      delete process.env.CREDITPOOL_OTLP_DEFAULT_SURFACE;
    }
    await setUpAccount(t);
    meter = await t.token('meter');
  });
  after(() => t.close());

  it('books api_request events as usage and answers OTLP partial success for the refused one', async () => {
    const r = await t.call('POST', path, { token: meter, payload: fixtureText });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.partialSuccess.rejectedLogRecords, '1');
    assert.match(
      r.json.partialSuccess.errorMessage,
      /^1 of 3 api_request records rejected: invalid_attribute: resourceLogs\[0\]\.scopeLogs\[0\]\.logRecords\[4\]: req_011CeXGbroken00000000000: input_tokens is not a non-negative integer$/,
    );
    const s = await statement(t);
    assert.equal(s.sdk_credit.used_usd, '0.069');
    assert.equal(s.sdk_credit.remaining_usd, '19.931');
    assert.equal(s.subscription_usd, '0.000942');
    assert.deepEqual(s.by_surface, [
      { surface: 'cli', cost_usd: '0.000942' },
      { surface: 'sdk-cli', cost_usd: '0.069' },
    ]);
  });

  it('is idempotent on request_id: a re-send (an exporter retry) counts nothing twice', async () => {
    const r = await t.call('POST', path, { token: meter, payload: fixtureText });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.partialSuccess.rejectedLogRecords, '1');
    const s = await statement(t);
    assert.equal(s.sdk_credit.used_usd, '0.069');
    assert.equal(s.subscription_usd, '0.000942');
    const entries = await t.call('GET', `/v1/accounts/${account}/entries?limit=100`);
    // The grant, then one usage posting per booked record.
    assert.deepEqual(
      entries.json.entries.map((e: { kind: string; ref: string | null }) => [e.kind, e.ref]),
      [
        ['grant', null],
        ['usage', 'req_011CeXE7jFvq92cXT1kLYChE'],
        ['usage', 'req_011CeXF2aQ7wYbZc3dE4fG5h'],
      ],
    );
  });

  it('refuses records of an unknown account, naming them, and books nothing', async () => {
    const r = await t.call('POST', path, { token: meter, payload: withAccount('acc-unknown-0000') });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.partialSuccess.rejectedLogRecords, '3');
    const message: string = r.json.partialSuccess.errorMessage;
    assert.match(message, /^3 of 3 api_request records rejected: /);
    assert.match(message, /req_011CeXE7jFvq92cXT1kLYChE: not_found: no account acc-unknown-0000/);
    assert.match(message, /req_011CeXF2aQ7wYbZc3dE4fG5h: not_found: no account acc-unknown-0000/);
    assert.equal((await statement(t)).sdk_credit.used_usd, '0.069');
  });

  it('answers {"partialSuccess": {}} when every api_request was booked or replayed', async () => {
    // Only the first api_request event (the opus one), already booked: a replay.
    const doc = JSON.parse(fixtureText);
    doc.resourceLogs[0].scopeLogs[0].logRecords = doc.resourceLogs[0].scopeLogs[0].logRecords.slice(0, 3);
    const r = await t.call('POST', path, { token: meter, body: doc });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { partialSuccess: {} });
  });

  it('accepts a gzip-compressed export (OTEL_EXPORTER_OTLP_COMPRESSION=gzip)', async () => {
    const r = await t.call('POST', path, {
      token: meter,
      payload: gzipSync(withAccount('acc-gzip-unknown')),
      headers: { 'content-encoding': 'gzip' },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.partialSuccess.rejectedLogRecords, '3');
    const bad = await t.call('POST', path, {
      token: meter,
      payload: Buffer.from('not gzip'),
      headers: { 'content-encoding': 'gzip' },
    });
    assert.equal(bad.status, 400, bad.text);
    const br = await t.call('POST', path, {
      token: meter,
      payload: fixtureText,
      headers: { 'content-encoding': 'br' },
    });
    assert.equal(br.status, 415, br.text);
    // 5 MiB of spaces inflate past the 4 MiB body bound from a few kilobytes: a 413, not a parse.
    const bomb = await t.call('POST', path, {
      token: meter,
      payload: gzipSync(Buffer.alloc(5 * 1024 * 1024, ' ')),
      headers: { 'content-encoding': 'gzip' },
    });
    assert.equal(bomb.status, 413, bomb.text);
  });

  it('refuses protobuf with 415 and says which exporter setting to change', async () => {
    const r = await t.call('POST', path, {
      token: meter,
      payload: Buffer.from([0x0a, 0x02, 0x08, 0x01]),
      contentType: 'application/x-protobuf',
    });
    assert.equal(r.status, 415, r.text);
    assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(r.json.code, 'invalid_request');
    assert.match(r.json.detail, /OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=http\/json/);
  });

  it('needs a meter or admin token; a payload without resourceLogs is a 400', async () => {
    assert.equal((await t.call('POST', path, { token: null, payload: fixtureText })).status, 401);
    const own = await t.token('account', { account_id: account });
    assert.equal((await t.call('POST', path, { token: own, payload: fixtureText })).status, 403);
    const admin = await t.call('POST', path, { body: { resourceLogs: [] } });
    assert.deepEqual([admin.status, admin.json], [200, { partialSuccess: {} }]);
    const bad = await t.call('POST', path, { token: meter, body: { logs: [] } });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json.code, 'invalid_request');
  });

  it('is in the OpenAPI document with its request and response schemas', async () => {
    const r = await t.call('GET', '/openapi.json', { token: null });
    const operation = r.json.paths[path]?.post;
    assert.ok(operation, 'no POST /v1/otlp/v1/logs in /openapi.json');
    const body = operation.requestBody.content['application/json'].schema;
    assert.deepEqual(body.required, ['resourceLogs']);
    const ok = operation.responses['200'].content['application/json'].schema;
    assert.deepEqual(Object.keys(ok.properties.partialSuccess.properties), [
      'rejectedLogRecords',
      'errorMessage',
    ]);
  });
});

describe('http: OTLP mapping options', () => {
  it('reads CREDITPOOL_OTLP_ACCOUNT_ATTRIBUTE and CREDITPOOL_OTLP_DEFAULT_SURFACE, empty = unset', () => {
    assert.deepEqual(otlpOptionsFromEnv({}), {});
    assert.deepEqual(
      otlpOptionsFromEnv({
        CREDITPOOL_OTLP_ACCOUNT_ATTRIBUTE: 'organization.id',
        CREDITPOOL_OTLP_DEFAULT_SURFACE: '',
      }),
      { accountAttribute: 'organization.id' },
    );
  });

  it('without a default surface, an event without app.entrypoint is refused; the account attribute is configurable', async () => {
    const t = await startTestServer();
    try {
      await setUpAccount(t);
      const r = await t.call('POST', path, { payload: fixtureText });
      assert.equal(r.json.partialSuccess.rejectedLogRecords, '2');
      assert.match(
        r.json.partialSuccess.errorMessage,
        /missing_entrypoint: .*req_011CeXF2aQ7wYbZc3dE4fG5h: no app.entrypoint/,
      );
      assert.equal((await statement(t)).sdk_credit.used_usd, '0.069');
    } finally {
      await t.close();
    }
    process.env.CREDITPOOL_OTLP_ACCOUNT_ATTRIBUTE = 'session.id';
    const bySession = await startTestServer();
    delete process.env.CREDITPOOL_OTLP_ACCOUNT_ATTRIBUTE;
    try {
      // The session id names no account here: both mapped records are refused as not_found.
      const r = await bySession.call('POST', path, { payload: fixtureText });
      assert.match(r.json.partialSuccess.errorMessage, /no account 0b98dffc-d185-41ed-aada-1acdb51e98b6/);
    } finally {
      await bySession.close();
    }
  });
});
