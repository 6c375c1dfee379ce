import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseMessagesApiText, readMessagesApiFile } from './parse.ts';

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', name);
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

describe('a single Messages API response', () => {
  it('needs surface and time from the caller, keeps usage exactly', async () => {
    const file = fixture('response.json.out');
    const options = { surface: 'sdk-ts', occurredAt: '2026-11-20T10:00:14.000Z', app: 'acme-bot' };
    const { records, stats } = await readMessagesApiFile(file, options);
    assert.deepEqual(records, [
      {
        id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
        occurred_at: '2026-11-20T10:00:14Z',
        surface: 'sdk-ts',
        app: 'acme-bot',
        model: 'claude-sonnet-5-5',
        usage: {
          input_tokens: 1000,
          cache_creation_input_tokens: 3000,
          cache_read_input_tokens: 50000,
          cache_creation: { ephemeral_5m_input_tokens: 3000, ephemeral_1h_input_tokens: 0 },
          output_tokens: 2000,
          server_tool_use: { web_search_requests: 2, web_fetch_requests: 1 },
          service_tier: 'standard',
          inference_geo: 'us',
          speed: 'fast',
        },
        source: { kind: 'messages-api', file },
      },
    ]);
    assert.deepEqual(counts(stats), { ...zeroStats, linesRead: 1, usageLines: 1, records: 1 });
    const text = parseMessagesApiText(readFileSync(file, 'utf8'), { ...options, file });
    assert.deepEqual(text.records, records);
  });

  it('refuses a raw response without the options', () => {
    const { records, stats } = parseMessagesApiText(readFileSync(fixture('response.json.out'), 'utf8'));
    assert.equal(records.length, 0);
    assert.deepEqual(
      stats.issues.map((i) => [i.code, i.detail]),
      [['missing_option', 'msg_01XFDUDYJgAACzvnptvVoYEL: a raw response needs the surface option']],
    );
  });
});

describe('JSONL of native records and responses', () => {
  const file = fixture('records.jsonl');

  it('reads valid lines, reports every bad one with its line', async () => {
    const { records, stats } = await readMessagesApiFile(file, {
      surface: 'sdk-ts',
      occurredAt: '2026-11-20T12:00:00Z',
    });
    assert.deepEqual(records, [
      {
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
        },
        source: { kind: 'messages-api', file, line: 1 },
        account_id: 'acct_1',
      },
      {
        id: 'req_011CeXH9kLmN0pQr1sTu2vWx',
        occurred_at: '2026-11-20T10:30:00.250Z',
        surface: 'sdk-ts',
        app: 'acme-reviewer',
        model: 'claude-haiku-4-5-20251001',
        usage: {
          input_tokens: 897,
          output_tokens: 9,
          cache_creation_input_tokens: null,
          cache_read_input_tokens: null,
          service_tier: 'batch',
        },
        source: { kind: 'messages-api', file, line: 2 },
        account_id: 'acct_1',
      },
      {
        id: 'msg_01RAWRESPONSE0000000000',
        occurred_at: '2026-11-20T12:00:00Z',
        surface: 'sdk-ts',
        app: null,
        model: 'claude-fable-5-1',
        usage: {
          input_tokens: 12,
          output_tokens: 3,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          service_tier: 'standard',
        },
        source: { kind: 'messages-api', file, line: 4 },
      },
    ]);
    assert.deepEqual(counts(stats), {
      ...zeroStats,
      linesRead: 8,
      usageLines: 7,
      invalid: 4,
      unparseable: 1,
      records: 3,
    });
    assert.deepEqual(
      stats.issues.map((i) => [i.line, i.code]),
      [
        [5, 'invalid_usage'],
        [6, 'invalid_timestamp'],
        [7, 'missing_entrypoint'],
        [8, 'invalid_record'],
        [9, 'unparseable_line'],
      ],
    );
  });

  it('reads a JSON array, positions as line numbers', async () => {
    const arrayFile = fixture('records-array.json.out');
    const { records, stats } = await readMessagesApiFile(arrayFile);
    assert.deepEqual(
      records.map((r) => [r.id, r.surface, r.app, r.source.line]),
      [
        ['req_A1', 'claude-vscode', null, 1],
        ['req_A2', 'sdk-py', 'acme-agent', 2],
      ],
    );
    assert.deepEqual(
      stats.issues.map((i) => [i.line, i.code]),
      [[3, 'unparseable_line']],
    );
  });

  it('refuses ids that are not short strings', () => {
    const { stats } = parseMessagesApiText(
      JSON.stringify({
        id: 'x'.repeat(257),
        occurred_at: '2026-11-20T10:00:14Z',
        surface: 'cli',
        model: 'm',
        usage: {},
      }),
    );
    assert.equal(stats.issues[0]!.code, 'missing_id');
  });
});
