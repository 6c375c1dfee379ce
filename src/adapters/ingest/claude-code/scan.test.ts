import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateCorpus } from '../../../../scripts/gen-transcripts.ts';
import { emptyStats } from '../record.ts';
import {
  defaultTranscriptRoots,
  listTranscriptFiles,
  mergeTranscriptParts,
  readTranscripts,
  scanTranscriptPart,
} from './scan.ts';

const fixtures = join(import.meta.dirname, 'fixtures', 'projects');
const session = '0b98dffc-d185-41ed-aada-1acdb51e98b6';
const mainFile = join(fixtures, '-home-dev-repo', `${session}.jsonl`);
const sideFile = join(fixtures, '-home-dev-repo', session, 'subagents', 'agent-a1b2c3.jsonl');
const resumedFile = join(fixtures, '-home-dev-repo', '7d3e8a10-5b6c-4d2e-9f10-2a3b4c5d6e7f.jsonl');
const oldFile = join(fixtures, '-home-dev-old', '11111111-2222-4333-8444-555555555555.jsonl');

const fullUsage = (output: number) => ({
  input_tokens: 1000,
  cache_creation_input_tokens: 3000,
  cache_read_input_tokens: 50000,
  output_tokens: output,
  server_tool_use: { web_search_requests: 0, web_fetch_requests: 0 },
  service_tier: 'standard',
  cache_creation: { ephemeral_1h_input_tokens: 0, ephemeral_5m_input_tokens: 3000 },
  inference_geo: 'not_available',
  speed: 'standard',
});

describe('defaultTranscriptRoots', () => {
  it('uses both default locations without CLAUDE_CONFIG_DIR', () => {
    assert.deepEqual(defaultTranscriptRoots({}, '/home/dev'), [
      '/home/dev/.claude/projects',
      '/home/dev/.config/claude/projects',
    ]);
  });
  it('uses only the configured directories, each with projects/', () => {
    assert.deepEqual(defaultTranscriptRoots({ CLAUDE_CONFIG_DIR: ' /srv/a ,~/b,,/srv/a' }, '/home/dev'), [
      '/srv/a/projects',
      '/home/dev/b/projects',
    ]);
  });
  it('treats an empty CLAUDE_CONFIG_DIR as unset', () => {
    assert.equal(defaultTranscriptRoots({ CLAUDE_CONFIG_DIR: ' , ' }, '/h').length, 2);
  });
});

describe('scanTranscripts on the fixtures', async () => {
  const { records, stats, files } = await readTranscripts([fixtures]);

  it('reads only *.jsonl, recursively, in sorted order', () => {
    assert.deepEqual(files, [oldFile, mainFile, sideFile, resumedFile]);
  });

  it('counts exactly', () => {
    assert.deepEqual(
      { ...stats, issues: undefined },
      {
        linesRead: 19,
        usageLines: 11,
        duplicates: 3, // two extra content blocks of msg_01A, the resumed copy of msg_011Ce…
        sidechainReplays: 1,
        synthetic: 1,
        missingEntrypoint: 2,
        unparseable: 2,
        invalid: 0,
        records: 6,
        issues: undefined,
        issuesDropped: 0,
      },
    );
    // Every usage line is accounted for.
    assert.equal(
      stats.usageLines,
      stats.records + stats.duplicates + stats.sidechainReplays + stats.synthetic + stats.invalid,
    );
  });

  it('reports issues with file and line', () => {
    assert.deepEqual(
      stats.issues.map((i) => [i.file, i.line, i.code]),
      [
        [oldFile, 2, 'missing_entrypoint'],
        [mainFile, 8, 'unparseable_line'],
        [mainFile, 10, 'unparseable_line'],
        [mainFile, 7, 'synthetic'],
      ],
    );
    assert.match(stats.issues[0]!.detail, /2 usage line\(s\) without entrypoint, classified as cli/);
  });

  it('emits one record per response, largest copy, parent over sidechain, in time order', () => {
    assert.deepEqual(records, [
      {
        id: 'req_01OLD',
        occurred_at: '2026-05-02T12:00:03.456Z',
        surface: 'cli',
        app: null,
        model: 'claude-sonnet-4-20250514',
        usage: {
          input_tokens: 4,
          cache_creation_input_tokens: 2500,
          cache_read_input_tokens: 0,
          output_tokens: 7,
          service_tier: 'standard',
        },
        source: { file: oldFile, line: 2, kind: 'claude-code-transcript' },
        reported_cost_usd: '0.0123456',
      },
      {
        id: 'msg_01OLD2', // no requestId on this line: the message id
        occurred_at: '2026-05-02T12:00:09Z',
        surface: 'cli',
        app: null,
        model: 'claude-sonnet-4-20250514',
        usage: {
          input_tokens: 1,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          output_tokens: 0,
        },
        source: { file: oldFile, line: 3, kind: 'claude-code-transcript' },
        reported_cost_usd: '0.0000001',
      },
      {
        id: 'req_01A',
        occurred_at: '2026-11-20T10:00:02Z', // the first complete copy, not the partial one at line 2
        surface: 'sdk-cli',
        app: null,
        model: 'claude-opus-5-5',
        usage: fullUsage(420),
        source: { file: mainFile, line: 3, kind: 'claude-code-transcript' },
      },
      {
        id: 'req_01SUB',
        occurred_at: '2026-11-20T10:00:09.250Z',
        surface: 'sdk-cli',
        app: null,
        model: 'claude-haiku-4-5-20251001',
        usage: {
          input_tokens: 897,
          output_tokens: 9,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          service_tier: 'standard',
        },
        source: { file: sideFile, line: 3, kind: 'claude-code-transcript' },
      },
      {
        id: 'req_011CeXE7jFvq92cXT1kLYChE',
        occurred_at: '2026-11-20T10:00:14Z',
        surface: 'sdk-cli',
        app: null,
        model: 'claude-opus-5-5',
        usage: fullUsage(2000),
        source: { file: mainFile, line: 6, kind: 'claude-code-transcript' },
      },
      {
        id: 'req_01C',
        occurred_at: '2026-11-21T08:30:00Z',
        surface: 'claude-vscode',
        app: null,
        model: 'claude-sonnet-5-5',
        usage: {
          input_tokens: 5,
          output_tokens: 80,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 60000,
          cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
          service_tier: 'standard',
        },
        source: { file: resumedFile, line: 2, kind: 'claude-code-transcript' },
      },
    ]);
  });

  it('gives the same records whatever the order of the roots', async () => {
    const reversed = await readTranscripts([resumedFile, sideFile, mainFile, oldFile]);
    assert.deepEqual(
      reversed.records.map((r) => [r.id, r.usage.output_tokens]),
      records.map((r) => [r.id, r.usage.output_tokens]),
    );
    assert.equal(reversed.stats.sidechainReplays, 1);
  });

  it('classifies missing entrypoints by the configured surface', async () => {
    const { records: old } = await readTranscripts([oldFile], { missingEntrypointSurface: 'sdk-cli' });
    assert.deepEqual(
      old.map((r) => r.surface),
      ['sdk-cli', 'sdk-cli'],
    );
  });
});

describe('scanTranscripts limits and failures', () => {
  it('skips and reports lines over the line limit, keeps reading', async () => {
    const { records, stats } = await readTranscripts([mainFile], { lineBytesMax: 700 });
    // The complete copies of req_01A are over the limit: only its partial first copy remains.
    assert.deepEqual(
      records.map((r) => [r.id, r.usage.output_tokens, r.source.line]),
      [['req_01A', 12, 2]],
    );
    const tooLong = stats.issues.filter((i) => i.code === 'line_too_long');
    assert.deepEqual(
      tooLong.map((i) => i.line),
      [3, 4, 6, 7],
    );
    assert.match(tooLong[0]!.detail, /^838 bytes, over the limit of 700: line skipped$/);
    assert.equal(stats.linesRead, 11);
  });

  it('skips and reports files over the size limit', async () => {
    const { records, stats } = await readTranscripts([mainFile, oldFile], { fileBytesMax: 2000 });
    assert.equal(records.length, 2);
    assert.deepEqual(
      stats.issues.map((i) => [i.file, i.code]),
      [
        [mainFile, 'file_too_large'],
        [oldFile, 'missing_entrypoint'],
      ],
    );
  });

  it('reports a missing root without failing', async () => {
    const { records, stats } = await readTranscripts(['/nonexistent/creditpool/projects', oldFile]);
    assert.equal(records.length, 2);
    assert.equal(stats.issues[0]!.code, 'path_missing');
  });

  it('reads a last line without newline, and lines longer than one read chunk', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'creditpool-scan-'));
    try {
      const big = 'x'.repeat(3 * 1024 * 1024);
      const line = (id: string, text: string) =>
        JSON.stringify({
          type: 'assistant',
          entrypoint: 'cli',
          timestamp: '2026-06-01T00:00:00Z',
          requestId: `req_${id}`,
          message: {
            id: `msg_${id}`,
            model: 'claude-opus-5-5',
            content: [{ type: 'text', text }],
            usage: { input_tokens: 1, output_tokens: 2 },
          },
        });
      await writeFile(join(dir, 's.jsonl'), `${line('big', big)}\n${line('last', 'end')}`);
      const { records, stats } = await readTranscripts([dir]);
      assert.deepEqual(
        records.map((r) => [r.id, r.source.line]),
        [
          ['req_big', 1],
          ['req_last', 2],
        ],
      );
      assert.equal(stats.issues.length, 0);
      const limited = await readTranscripts([dir], { lineBytesMax: 2 * 1024 * 1024 });
      assert.deepEqual(
        limited.records.map((r) => r.id),
        ['req_last'],
      );
      assert.equal(limited.stats.issues[0]!.code, 'line_too_long');
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('counts invalid usage lines without emitting them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'creditpool-scan-'));
    try {
      const base = { type: 'assistant', entrypoint: 'cli', timestamp: '2026-06-01T00:00:00Z' };
      const lines = [
        {
          ...base,
          requestId: 'r1',
          message: { id: 'm1', model: 'claude-opus-5-5', usage: { input_tokens: -1 } },
        },
        {
          ...base,
          requestId: 'r2',
          message: { id: 'm2', model: 'claude-opus-5-5', usage: { output_tokens: 1.5 } },
        },
        {
          ...base,
          timestamp: '2026-06-01 00:00',
          requestId: 'r3',
          message: { id: 'm3', model: 'm', usage: {} },
        },
        { ...base, message: { model: 'claude-opus-5-5', usage: {} } },
        { ...base, requestId: 'r5', message: { id: 'm5', usage: {} } },
      ];
      await writeFile(join(dir, 's.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n'));
      const { records, stats } = await readTranscripts([dir]);
      assert.equal(records.length, 0);
      assert.equal(stats.invalid, 5);
      assert.deepEqual(
        stats.issues.map((i) => i.code),
        ['invalid_usage', 'invalid_usage', 'invalid_timestamp', 'missing_id', 'invalid_record'],
      );
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

describe('scanTranscripts on a generated corpus', () => {
  it('reproduces the generator manifest exactly, in time order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'creditpool-corpus-'));
    try {
      const m = generateCorpus({ out: dir, lines: 3000, seed: 3, bytesPerLine: 900, anomalyRate: 20 });
      assert.ok(m.sidechainReplays > 0 && m.synthetic > 0 && m.unparseable > 0 && m.missingEntrypoint > 0);
      const { records, stats, files } = await readTranscripts([dir]);
      assert.equal(files.length, m.files);
      assert.deepEqual(
        {
          linesRead: stats.linesRead,
          usageLines: stats.usageLines,
          records: stats.records,
          duplicates: stats.duplicates,
          sidechainReplays: stats.sidechainReplays,
          synthetic: stats.synthetic,
          missingEntrypoint: stats.missingEntrypoint,
          unparseable: stats.unparseable,
          invalid: stats.invalid,
        },
        {
          linesRead: m.linesWritten,
          usageLines: m.usageLines,
          records: m.records,
          duplicates: m.duplicates,
          sidechainReplays: m.sidechainReplays,
          synthetic: m.synthetic,
          missingEntrypoint: m.missingEntrypoint,
          unparseable: m.unparseable,
          invalid: 0,
        },
      );
      for (let i = 1; i < records.length; i += 1) {
        const a = records[i - 1]!;
        const b = records[i]!;
        assert.ok(
          a.occurred_at < b.occurred_at ||
            (a.occurred_at === b.occurred_at && a.id < b.id) ||
            Date.parse(a.occurred_at) < Date.parse(b.occurred_at),
        );
      }
      // No partial copy survives: the generator's partial copies have output_tokens 1 and input 1.
      assert.ok(records.every((r) => !(r.usage.input_tokens === 1 && r.usage.output_tokens === 1)));
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

describe('a scan shared among threads (scanTranscriptPart, mergeTranscriptParts)', () => {
  /** The scan cut at `cuts` (file indexes), each part through JSON as between threads, merged. */
  async function inParts(paths: string[], cuts: number[]) {
    const stats = emptyStats();
    const files = await listTranscriptFiles(paths, stats);
    const bounds = [0, ...cuts, files.length];
    const parts = [];
    for (let k = 0; k + 1 < bounds.length; k += 1) {
      const part = await scanTranscriptPart(files, bounds[k]!, bounds[k + 1]!);
      parts.push(JSON.parse(JSON.stringify(part)));
    }
    const { records, instants } = mergeTranscriptParts(files, parts, stats);
    assert.deepEqual(
      instants,
      records.map((r) => Date.parse(r.occurred_at)),
    );
    return { records, stats, files };
  }

  it('equals the whole scan on the fixtures, cut anywhere (duplicates and replays across parts)', async () => {
    const whole = await readTranscripts([fixtures, '/nonexistent/creditpool/projects']);
    const n = whole.files.length;
    const cutSets: number[][] = [[]];
    for (let a = 0; a <= n; a += 1) {
      cutSets.push([a]);
      for (let b = a; b <= n; b += 1) cutSets.push([a, b]);
    }
    for (const cuts of cutSets) {
      assert.deepEqual(
        await inParts([fixtures, '/nonexistent/creditpool/projects'], cuts),
        whole,
        `cut at ${cuts.join(', ')}`,
      );
    }
  });

  it('equals the whole scan on a generated corpus cut in three', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'creditpool-corpus-parts-'));
    try {
      generateCorpus({ out: dir, lines: 3000, seed: 5, bytesPerLine: 900, anomalyRate: 20 });
      const whole = await readTranscripts([dir]);
      const n = whole.files.length;
      assert.deepEqual(await inParts([dir], [Math.floor(n / 3), Math.floor((2 * n) / 3)]), whole);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
