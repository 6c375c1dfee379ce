import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { accountKindOf, modelUsageToUsage, parseAgentSdkText, readAgentSdkFile } from './parse.ts';

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', name);
const at = '2026-11-20T10:00:14Z';
const counts = (stats: { issues: unknown[] }) => ({ ...stats, issues: undefined });
const zeroStats = {
  linesRead: 0,
  usageLines: 0,
  duplicates: 0,
  sidechainReplays: 0,
  synthetic: 0,
  missingEntrypoint: 0,
  unparseable: 0,
  invalid: 0,
  records: 0,
  issues: undefined,
  issuesDropped: 0,
};

describe('claude -p --output-format json (captured)', () => {
  const session = 'ef0e69d4-9d90-4bf1-ad93-0c21b1f5ec2b';
  const expected = [
    {
      id: `${session}:claude-fable-5-1`,
      occurred_at: at,
      surface: 'sdk-cli',
      app: null,
      model: 'claude-fable-5-1',
      usage: {
        input_tokens: 2,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 18338,
        output_tokens: 4,
        server_tool_use: { web_search_requests: 0 },
      },
      source: { kind: 'agent-sdk-result', file: fixture('claude-p.json.out') },
      reported_cost_usd: '0.0048045',
    },
    {
      id: `${session}:claude-haiku-4-5-20251001`,
      occurred_at: at,
      surface: 'sdk-cli',
      app: null,
      model: 'claude-haiku-4-5-20251001',
      usage: {
        input_tokens: 897,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: 9,
        server_tool_use: { web_search_requests: 0 },
      },
      source: { kind: 'agent-sdk-result', file: fixture('claude-p.json.out') },
      reported_cost_usd: '0.000942',
    },
  ];

  it('emits one record per model of modelUsage, from the file', async () => {
    const { records, stats, summary } = await readAgentSdkFile(fixture('claude-p.json.out'), {
      occurredAt: at,
    });
    assert.deepEqual(records, expected);
    assert.deepEqual(counts(stats), { ...zeroStats, linesRead: 1, usageLines: 1, records: 2 });
    assert.deepEqual(summary, {
      apiKeySource: null,
      accountKind: 'unknown',
      sessionIds: [session],
      reportedTotalCostUsd: { [session]: '0.0057465' },
      resultsSuperseded: 0,
      assistantCoveredByResult: 0,
    });
  });

  it('gives the same records from text, with the caller’s surface and app', () => {
    const text = readFileSync(fixture('claude-p.json.out'), 'utf8');
    const { records } = parseAgentSdkText(text, {
      occurredAt: at,
      file: fixture('claude-p.json.out'),
      surface: 'sdk-ts',
      app: 'acme-bot',
    });
    assert.deepEqual(
      records,
      expected.map((r) => ({ ...r, surface: 'sdk-ts', app: 'acme-bot' })),
    );
  });

  it('defaults the time to the file’s modification time', async () => {
    const { records } = await readAgentSdkFile(fixture('claude-p.json.out'));
    assert.match(records[0]!.occurred_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/);
  });

  it('reports a missing time instead of guessing one', () => {
    const { records, stats } = parseAgentSdkText(readFileSync(fixture('claude-p.json.out'), 'utf8'));
    assert.equal(records.length, 0);
    assert.equal(stats.invalid, 2);
    assert.deepEqual(
      stats.issues.map((i) => i.code),
      ['missing_option'],
    );
  });
});

describe('stream-json --verbose', () => {
  const session = '5c1e2a7b-3d4f-4a6b-8c9d-0e1f2a3b4c5d';

  it('takes the latest result per session, authoritative over assistant lines', async () => {
    const file = fixture('stream.jsonl');
    const { records, stats, summary } = await readAgentSdkFile(file, { occurredAt: at });
    assert.deepEqual(records, [
      {
        id: `${session}:claude-haiku-4-5-20251001`,
        occurred_at: at,
        surface: 'sdk-cli',
        app: null,
        model: 'claude-haiku-4-5-20251001',
        usage: {
          input_tokens: 1200,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          output_tokens: 40,
          server_tool_use: { web_search_requests: 0 },
        },
        source: { kind: 'agent-sdk-result', file, line: 10 },
        reported_cost_usd: '0.0014',
      },
      {
        id: `${session}:claude-opus-5-5`,
        occurred_at: at,
        surface: 'sdk-cli',
        app: null,
        model: 'claude-opus-5-5',
        usage: {
          input_tokens: 48,
          cache_creation_input_tokens: 4510,
          cache_read_input_tokens: 44710,
          output_tokens: 170,
          cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 4510 },
          server_tool_use: { web_search_requests: 1 },
        },
        source: { kind: 'agent-sdk-result', file, line: 10 },
        reported_cost_usd: '0.0591',
      },
    ]);
    assert.deepEqual(counts(stats), {
      ...zeroStats,
      linesRead: 10,
      usageLines: 7,
      duplicates: 2,
      records: 2,
    });
    assert.deepEqual(summary, {
      apiKeySource: 'ANTHROPIC_API_KEY',
      accountKind: 'api',
      sessionIds: [session],
      reportedTotalCostUsd: { [session]: '0.0612345' },
      resultsSuperseded: 1,
      assistantCoveredByResult: 4,
    });
  });

  it('falls back to one record per assistant message when the stream has no result', async () => {
    const file = fixture('stream-interrupted.jsonl');
    const { records, stats, summary } = await readAgentSdkFile(file, { occurredAt: at });
    assert.deepEqual(records, [
      {
        id: 'msg_01INT1',
        occurred_at: at,
        surface: 'sdk-cli',
        app: null,
        model: 'claude-sonnet-5-5',
        usage: {
          input_tokens: 10,
          cache_creation_input_tokens: 2000,
          cache_read_input_tokens: 0,
          output_tokens: 30,
          service_tier: 'standard',
        },
        source: { kind: 'stream-json', file, line: 2 },
      },
    ]);
    assert.deepEqual(counts(stats), {
      ...zeroStats,
      linesRead: 5,
      usageLines: 3,
      duplicates: 1,
      synthetic: 1,
      unparseable: 1,
      records: 1,
    });
    assert.deepEqual(
      stats.issues.map((i) => [i.line, i.code]),
      [[5, 'unparseable_line']],
    );
    assert.equal(summary.accountKind, 'subscription');
  });

  it('takes the surface from system/init when it names one', () => {
    const text = [
      JSON.stringify({
        type: 'system',
        subtype: 'init',
        session_id: 's',
        apiKeySource: 'oauth',
        entrypoint: 'sdk-py',
      }),
      JSON.stringify({
        type: 'assistant',
        session_id: 's',
        timestamp: '2026-07-01T08:00:00.250Z',
        message: { id: 'msg_1', model: 'claude-opus-5-5', usage: { input_tokens: 1, output_tokens: 1 } },
      }),
    ].join('\n');
    const { records, summary } = parseAgentSdkText(text);
    assert.deepEqual(
      records.map((r) => [r.surface, r.occurred_at]),
      [['sdk-py', '2026-07-01T08:00:00.250Z']],
    );
    assert.equal(summary.accountKind, 'subscription');
  });
});

describe('broken input', () => {
  it('counts a truncated document as unparseable, no records', async () => {
    const { records, stats } = await readAgentSdkFile(fixture('broken.json.out'), { occurredAt: at });
    assert.equal(records.length, 0);
    assert.deepEqual(counts(stats), { ...zeroStats, linesRead: 1, unparseable: 1 });
  });

  it('refuses modelUsage with non-integer counts', () => {
    assert.deepEqual(modelUsageToUsage({ inputTokens: 1.5, outputTokens: 1 }), {
      problem: 'inputTokens is not a non-negative integer',
    });
    assert.deepEqual(modelUsageToUsage({ outputTokens: 1 }), { problem: 'inputTokens is missing' });
    const text = JSON.stringify({
      type: 'result',
      session_id: 's',
      modelUsage: { m: { inputTokens: -1, outputTokens: 0 } },
    });
    const { records, stats } = parseAgentSdkText(text, { occurredAt: at });
    assert.equal(records.length, 0);
    assert.equal(stats.issues[0]!.code, 'invalid_usage');
  });

  it('maps the 5-minute and 1-hour cache writes and web fetches', () => {
    assert.deepEqual(
      modelUsageToUsage({
        inputTokens: 1,
        outputTokens: 2,
        cacheCreationInputTokens: 30,
        cacheReadInputTokens: 4,
        cacheCreationEphemeral5mInputTokens: 10,
        cacheCreationEphemeral1hInputTokens: 20,
        webSearchRequests: 3,
        webFetchRequests: 5,
        costUSD: 0.1,
      }),
      {
        usage: {
          input_tokens: 1,
          cache_creation_input_tokens: 30,
          cache_read_input_tokens: 4,
          output_tokens: 2,
          cache_creation: { ephemeral_5m_input_tokens: 10, ephemeral_1h_input_tokens: 20 },
          server_tool_use: { web_search_requests: 3, web_fetch_requests: 5 },
        },
      },
    );
  });

  it('classifies apiKeySource', () => {
    assert.deepEqual(['none', 'oauth', 'ANTHROPIC_API_KEY', 'apiKeyHelper', null].map(accountKindOf), [
      'subscription',
      'subscription',
      'api',
      'unknown',
      'unknown',
    ]);
  });
});
