import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { mapOtlpLogs } from './map.ts';

const payload: unknown = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'claude-code-logs.json'), 'utf8'),
);
const account = 'acc-5f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b';
const where = 'resourceLogs[0].scopeLogs[0].logRecords';

const opus = {
  id: 'req_011CeXE7jFvq92cXT1kLYChE',
  occurred_at: '2026-11-20T10:00:14Z',
  surface: 'sdk-cli',
  app: null,
  model: 'claude-opus-5-5',
  usage: {
    input_tokens: 1000,
    cache_creation_input_tokens: 3000,
    cache_read_input_tokens: 50000,
    output_tokens: 2000,
    cache_creation: { ephemeral_5m_input_tokens: 3000, ephemeral_1h_input_tokens: 0 },
    speed: 'standard',
  },
  source: { kind: 'otlp' },
  account_key: account,
  reported_cost_usd: '0.1161',
};
const haiku = {
  id: 'req_011CeXF2aQ7wYbZc3dE4fG5h',
  occurred_at: '2026-11-20T10:00:30.500Z', // no event.timestamp: timeUnixNano
  surface: 'cli',
  app: null,
  model: 'claude-haiku-4-5-20251001',
  usage: { input_tokens: 897, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 9 },
  source: { kind: 'otlp' },
  account_key: account,
  reported_cost_usd: '0.00000012',
};

describe('mapOtlpLogs', () => {
  it('maps api_request events only, with the default surface for a missing entrypoint', () => {
    const { records, issues } = mapOtlpLogs(payload, { defaultSurface: 'cli' });
    assert.deepEqual(records, [opus, haiku]);
    assert.deepEqual(issues, [
      {
        code: 'invalid_attribute',
        detail: `${where}[4]: req_011CeXGbroken00000000000: input_tokens is not a non-negative integer`,
      },
    ]);
  });

  it('refuses a record without entrypoint when there is no default surface', () => {
    const { records, issues } = mapOtlpLogs(payload);
    assert.deepEqual(records, [opus]);
    assert.deepEqual(
      issues.map((i) => i.code),
      ['missing_entrypoint', 'invalid_attribute'],
    );
    assert.equal(
      issues[0]!.detail,
      `${where}[3]: req_011CeXF2aQ7wYbZc3dE4fG5h: no app.entrypoint and no default surface`,
    );
  });

  it('takes the account key from the configured attribute', () => {
    const { records, issues } = mapOtlpLogs(payload, {
      accountAttribute: 'organization.id',
      defaultSurface: 'cli',
    });
    assert.deepEqual(
      records.map((r) => r.account_key),
      ['org-7e6d5c4b-3a29-4180-9f8e-7d6c5b4a3928', 'org-7e6d5c4b-3a29-4180-9f8e-7d6c5b4a3928'],
    );
    const missing = mapOtlpLogs(payload, { accountAttribute: 'tenant.id', defaultSurface: 'cli' });
    assert.equal(missing.records.length, 0);
    assert.deepEqual(
      missing.issues.map((i) => i.code),
      ['missing_account', 'missing_account', 'missing_account'],
    );
    assert.equal(issues.length, 1);
  });

  it('reads the event name from event.name, eventName or the body', () => {
    const event = (extra: Record<string, unknown>, attrs: { key: string; value: unknown }[]) => ({
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'user.account_uuid', value: { stringValue: 'a' } }] },
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: '1795168814000000000',
                  ...extra,
                  attributes: [
                    { key: 'model', value: { stringValue: 'claude-opus-5-5' } },
                    { key: 'input_tokens', value: { intValue: 1 } },
                    { key: 'output_tokens', value: { intValue: '2' } },
                    { key: 'request_id', value: { stringValue: 'req_1' } },
                    { key: 'app.entrypoint', value: { stringValue: 'sdk-ts' } },
                    ...attrs,
                  ],
                },
              ],
            },
          ],
        },
      ],
    });
    for (const shape of [
      event({}, [{ key: 'event.name', value: { stringValue: 'api_request' } }]),
      event({ eventName: 'claude_code.api_request' }, []),
      event({ body: { stringValue: 'claude_code.api_request' } }, []),
    ]) {
      const { records, issues } = mapOtlpLogs(shape);
      assert.deepEqual(issues, []);
      assert.deepEqual(
        records.map((r) => [r.id, r.occurred_at, r.surface, r.account_key, r.usage]),
        [['req_1', '2026-11-20T10:00:14Z', 'sdk-ts', 'a', { input_tokens: 1, output_tokens: 2 }]],
      );
    }
    // Strict numbers: a negative, a fraction, an exponent, an unsafe integer.
    for (const bad of [
      { intValue: '-1' },
      { stringValue: '1.0' },
      { stringValue: '1e3' },
      { intValue: '90071992547409930' },
    ]) {
      const { records, issues } = mapOtlpLogs(
        event({ eventName: 'api_request' }, [{ key: 'cache_read_tokens', value: bad }]),
      );
      assert.equal(records.length, 0);
      assert.equal(issues[0]!.code, 'invalid_attribute');
    }
  });

  it('reports a payload that is not OTLP logs', () => {
    assert.deepEqual(mapOtlpLogs({ resourceSpans: [] }), {
      records: [],
      issues: [{ code: 'invalid_record', detail: 'payload has no resourceLogs array' }],
    });
  });
});
