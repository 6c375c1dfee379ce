/**
 * Replay inputs: files are told apart by content (never by name), transcripts are deduplicated
 * across every path given, other sources are merged into one time order, bad paths are issues.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { scanTranscriptPart } from '../adapters/ingest/claude-code/scan.ts';
import { parseInstant } from '../core/time.ts';
import { detectFileKind, kindOfValue, readReplayInputs, splitBySize } from './inputs.ts';

const ingest = join(import.meta.dirname, '..', 'adapters', 'ingest');
const transcripts = join(ingest, 'claude-code', 'fixtures', 'projects');
const advisor = join(import.meta.dirname, 'fixtures', 'projects');
const dir = mkdtempSync(join(tmpdir(), 'creditpool-replay-inputs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('replay inputs: detection by content', () => {
  it('knows each fixture, whatever its name', async () => {
    const cases: [string, string | null][] = [
      [join(transcripts, '-home-dev-repo', '7d3e8a10-5b6c-4d2e-9f10-2a3b4c5d6e7f.jsonl'), 'transcript'],
      [join(transcripts, '-home-dev-old', '11111111-2222-4333-8444-555555555555.jsonl'), 'transcript'],
      [join(ingest, 'agent-sdk', 'fixtures', 'claude-p.json.out'), 'agent-sdk'],
      [join(ingest, 'agent-sdk', 'fixtures', 'stream.jsonl'), 'agent-sdk'],
      [join(ingest, 'agent-sdk', 'fixtures', 'stream-interrupted.jsonl'), 'agent-sdk'],
      [join(ingest, 'messages-api', 'fixtures', 'records.jsonl'), 'messages-api'],
      [join(ingest, 'messages-api', 'fixtures', 'response.json.out'), 'messages-api'],
      [join(ingest, 'messages-api', 'fixtures', 'records-array.json.out'), 'messages-api'],
      [join(ingest, 'otlp', 'fixtures', 'claude-code-logs.json'), null],
    ];
    for (const [file, kind] of cases) assert.equal(await detectFileKind(file), kind, file);
  });

  it('reads a pretty-printed SDK result as a document; refuses what it cannot name', async () => {
    const pretty = join(dir, 'pretty.txt');
    writeFileSync(pretty, JSON.stringify({ type: 'result', session_id: 's', modelUsage: {} }, null, 2));
    assert.equal(await detectFileKind(pretty), 'agent-sdk');
    // Newer transcripts may open with a line that names no kind: the next line decides.
    const snapshot = join(dir, 'session.log');
    writeFileSync(
      snapshot,
      '{"type":"file-history-snapshot","messageId":"m1","snapshot":{},"isSnapshotUpdate":false}\n' +
        '{"parentUuid":null,"isSidechain":false,"sessionId":"s","type":"user","message":{"role":"user","content":"hi"}}\n',
    );
    assert.equal(await detectFileKind(snapshot), 'transcript');
    const notes = join(dir, 'notes.md');
    writeFileSync(notes, '# notes\nnothing to bill here\n');
    assert.equal(await detectFileKind(notes), null);
    assert.equal(kindOfValue([]), null);
    assert.equal(kindOfValue([{ type: 'system', subtype: 'init', session_id: 's' }]), 'agent-sdk');
  });
});

describe('replay inputs: reading', () => {
  it('deduplicates transcripts across every path given (a folder and one of its files)', async () => {
    const file = join(transcripts, '-home-dev-repo', '7d3e8a10-5b6c-4d2e-9f10-2a3b4c5d6e7f.jsonl');
    const input = await readReplayInputs([transcripts, file]);
    assert.equal(input.records.length, 6);
    assert.equal(input.files.transcript, 4);
  });

  it('merges SDK records into the time order, and reports missing paths and unknown files', async () => {
    const sdk = join(dir, 'run.json');
    copyFileSync(join(ingest, 'agent-sdk', 'fixtures', 'claude-p.json.out'), sdk);
    const at = new Date('2026-07-04T12:00:00Z');
    utimesSync(sdk, at, at);
    const notes = join(dir, 'unknown.json');
    writeFileSync(notes, '{"hello": "world"}\n');
    const input = await readReplayInputs([advisor, sdk, notes, join(dir, 'missing')]);
    assert.deepEqual(input.files, { transcript: 3, 'agent-sdk': 1, 'messages-api': 0 });
    const ids = input.records.map((r) => r.raw.id);
    // The SDK run (two models, one record each) lands between r3 (07-04 10:00) and r4 (07-05).
    assert.deepEqual(ids.slice(3, 7), [
      'req_01R3',
      'ef0e69d4-9d90-4bf1-ad93-0c21b1f5ec2b:claude-fable-5-1',
      'ef0e69d4-9d90-4bf1-ad93-0c21b1f5ec2b:claude-haiku-4-5-20251001',
      'req_01R4',
    ]);
    for (let i = 1; i < input.records.length; i += 1) {
      assert.ok(input.records[i - 1]!.at <= input.records[i]!.at);
    }
    assert.deepEqual(
      input.stats.issues.filter((i) => i.code !== 'synthetic').map((i) => i.code),
      ['unknown_format', 'path_missing'],
    );
    assert.ok(input.records.every((r) => r.raw.account_id === 'replay'));
  });

  it('--since is inclusive, --until exclusive; left-out records are counted', async () => {
    const input = await readReplayInputs([advisor], {
      since: parseInstant('2026-07-03T10:00:00Z'),
      until: parseInstant('2026-07-05T10:00:00Z'),
    });
    assert.deepEqual(
      input.records.map((r) => r.raw.id),
      ['req_01R2', 'req_01R3', 'req_01R4'],
    );
    assert.equal(input.filtered, 5);
  });
});

describe('replay inputs: a transcript scan shared among threads', () => {
  it('cuts the files into contiguous ranges of about equal bytes, none empty', () => {
    assert.deepEqual(splitBySize([5, 5, 5, 5], 2), [2, 4]);
    assert.deepEqual(splitBySize([100, 1, 1, 1], 2), [1, 4]);
    assert.deepEqual(splitBySize([1, 1, 1, 100], 2), [3, 4]);
    assert.deepEqual(splitBySize([100, 1], 4), [1, 2]);
    assert.deepEqual(splitBySize([0, 0, 0], 3), [1, 2, 3]);
    assert.deepEqual(splitBySize([7], 2), [1]);
    assert.deepEqual(splitBySize([], 2), []);
  });

  it('reads the same records and counts as one scan', async () => {
    const paths = [transcripts, advisor, join(ingest, 'agent-sdk', 'fixtures', 'claude-p.json.out')];
    const one = await readReplayInputs(paths);
    for (const parts of [2, 3, 16]) {
      const shared = await readReplayInputs(paths, {
        parallelScan: {
          parts,
          // As between threads: each part crosses as JSON.
          scan: async (files, first, end) =>
            JSON.parse(JSON.stringify(await scanTranscriptPart(files, first, end))),
        },
      });
      assert.deepEqual(shared, one, `${parts} parts`);
    }
  });
});
