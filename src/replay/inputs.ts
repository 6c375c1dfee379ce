/**
 * What `creditpool replay` reads: Claude Code transcript folders and files, Agent SDK output
 * (`claude -p --output-format json`, stream-json, an array of SDK messages) and native usage
 * records, told apart by content, never by name. Every transcript goes through one scan, so the
 * deduplication rules (message id + request id, largest copy, sidechain replays) hold across all
 * the paths given. The result is one array of records in replay order (occurred_at, then id).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { readAgentSdkFile } from '../adapters/ingest/agent-sdk/parse.ts';
import {
  listTranscriptFiles,
  mergeTranscriptParts,
  scanTranscripts,
  type TranscriptScanPart,
} from '../adapters/ingest/claude-code/scan.ts';
import { readMessagesApiFile } from '../adapters/ingest/messages-api/parse.ts';
import {
  addIssue,
  addStats,
  emptyStats,
  type IngestedRecord,
  type IngestIssue,
  type IngestStats,
} from '../adapters/ingest/record.ts';
import { type Instant, parseInstant } from '../core/time.ts';

/** The account id every replay engine books on (one account per engine, never the operator's). */
export const replayAccountId = 'replay';

/**
 * One record ready for booking: `raw` is the `POST /v1/usage` record handed to `recordUsage` (built
 * once, shared by every plan's engine), `at` its instant (parsed once, for ordering and the clock).
 */
export interface ReplayRecord {
  at: Instant;
  raw: {
    id: string;
    account_id: string;
    occurred_at: string;
    surface: string;
    app: string | null;
    model: string;
    usage: Record<string, unknown>;
  };
}

export type InputKind = 'transcript' | 'agent-sdk' | 'messages-api';

export interface ReplayInput {
  records: ReplayRecord[];
  /** Ingest counts summed over every source (transcripts, SDK files, record files). */
  stats: IngestStats;
  /** Files read, by kind (a transcript folder counts its `*.jsonl` files). */
  files: Record<InputKind, number>;
  /** Records left out by `--since` / `--until`. */
  filtered: number;
}

export interface InputOptions {
  /** Inclusive lower bound on occurred_at. */
  since?: Instant | null;
  /** Exclusive upper bound on occurred_at. */
  until?: Instant | null;
  /** Called while transcripts are scanned, with the lines read so far (for a progress bar). */
  onLines?: (linesRead: number, filesTotal: number) => void;
  /** Shares the transcript scan among threads (`parallel.ts`); absent: one scan in this thread. */
  parallelScan?: ParallelScan;
}

/**
 * Reads ranges of the transcript files elsewhere (`scanTranscriptPart` on another thread). The
 * files are cut into `parts` contiguous ranges of about equal bytes, read at once, and merged in
 * file order, so the records and counts are exactly a whole scan's.
 */
export interface ParallelScan {
  parts: number;
  scan(
    files: readonly string[],
    first: number,
    end: number,
    onLines: (linesRead: number) => void,
  ): Promise<TranscriptScanPart>;
}

/**
 * Cuts `sizes` (bytes per file, in order) into at most `parts` contiguous ranges of about equal
 * bytes; returns each range's end index (exclusive). No range is empty.
 *
 * @example
 * splitBySize([5, 5, 5, 5], 2) // [2, 4]
 */
export function splitBySize(sizes: readonly number[], parts: number): number[] {
  let total = 0;
  for (const size of sizes) total += size;
  const ends: number[] = [];
  let sum = 0;
  for (let i = 0; i < sizes.length; i += 1) {
    sum += sizes[i]!;
    const filesLeft = sizes.length - (i + 1);
    const rangesLeft = parts - ends.length - 1;
    // Close a range once it holds its share of the bytes, or when each later range needs a file.
    if (
      rangesLeft > 0 &&
      filesLeft > 0 &&
      (sum >= (total * (ends.length + 1)) / parts || filesLeft === rangesLeft)
    )
      ends.push(i + 1);
  }
  if (sizes.length > 0) ends.push(sizes.length);
  return ends;
}

/** A whole transcript scan cut into ranges read elsewhere, merged in file order. */
async function scanInParts(
  paths: string[],
  parallel: ParallelScan,
  onLines: ((linesRead: number, filesTotal: number) => void) | undefined,
): Promise<{ records: IngestedRecord[]; instants: number[]; stats: IngestStats; files: readonly string[] }> {
  const stats = emptyStats();
  const files = await listTranscriptFiles(paths, stats);
  const sizes = files.map((file) => {
    try {
      return statSync(file).size;
    } catch {
      return 0; // the scan reports it
    }
  });
  const ends = splitBySize(sizes, parallel.parts);
  const linesByPart = ends.map(() => 0);
  const parts = await Promise.all(
    ends.map((end, k) =>
      parallel.scan(files, k === 0 ? 0 : ends[k - 1]!, end, (lines) => {
        linesByPart[k] = lines;
        onLines?.(
          linesByPart.reduce((a, b) => a + b, 0),
          files.length,
        );
      }),
    ),
  );
  return { ...mergeTranscriptParts(files, parts, stats), stats, files };
}

/**
 * Bytes read to tell a file's kind: room for the first lines of any of these formats (a transcript
 * line is a few kB; one holding a large tool result can be hundreds).
 */
export const sniffBytes = 1024 * 1024;
/** Keys only a Claude Code transcript line carries (stream-json uses `session_id`, snake case). */
const transcriptKeys = ['parentUuid', 'sessionId', 'isSidechain', 'leafUuid', 'userType'];
const sdkMessageTypes = new Set([
  'system',
  'assistant',
  'user',
  'result',
  'rate_limit_event',
  'stream_event',
]);

/**
 * The kind of one JSON value (a line, a document, or an array's first element), or null.
 *
 * @example
 * kindOfValue({ type: 'result', session_id: 's', modelUsage: {} }) // 'agent-sdk'
 * kindOfValue({ parentUuid: null, sessionId: 's', type: 'user' }) // 'transcript'
 */
export function kindOfValue(value: unknown): InputKind | null {
  if (Array.isArray(value)) return value.length === 0 ? null : kindOfValue(value[0]);
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (transcriptKeys.some((key) => key in v)) return 'transcript';
  if (typeof v.type === 'string' && sdkMessageTypes.has(v.type) && ('session_id' in v || v.type === 'result'))
    return 'agent-sdk';
  if ('occurred_at' in v || v.type === 'message') return 'messages-api';
  return null;
}

/**
 * Tells a file's kind from its first lines: the first complete line, within the first
 * `sniffBytes`, that is a JSON value of a known kind decides (a transcript may open with a line
 * that names none, such as `file-history-snapshot`). When no line there is JSON on its own (a
 * pretty-printed document), the whole document decides, within the adapters' document limit.
 */
export async function detectFileKind(path: string): Promise<InputKind | null> {
  const head = Buffer.allocUnsafe(sniffBytes);
  const fd = openSync(path, 'r');
  let length: number;
  try {
    length = readSync(fd, head, 0, sniffBytes, 0);
  } finally {
    closeSync(fd);
  }
  const text = head.toString('utf8', 0, length);
  const lines = text.split('\n');
  // The last piece may be cut by the sniff: only whole lines are judged (unless it is the file's end).
  if (length === sniffBytes) lines.pop();
  let parsedAny = false;
  for (const line of lines) {
    if (line.trim().length === 0) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    // A JSONL line of any of these formats is an object: a bare string is a document's piece.
    if (typeof value !== 'object' || value === null) continue;
    parsedAny = true;
    const kind = kindOfValue(value);
    if (kind !== null) return kind;
  }
  if (parsedAny || length === 0) return null;
  if (statSync(path).size > documentBytesMax) return null;
  try {
    return kindOfValue(JSON.parse(await readFile(path, 'utf8')));
  } catch {
    return null;
  }
}

/** Same bound as the SDK and record adapters' whole-document limit: a document is read at once. */
const documentBytesMax = 64 * 1024 * 1024;

function toReplayRecord(r: IngestedRecord, at: Instant): ReplayRecord {
  return {
    at,
    raw: {
      id: r.id,
      account_id: replayAccountId,
      occurred_at: r.occurred_at,
      surface: r.surface,
      app: r.app,
      model: r.model,
      usage: r.usage,
    },
  };
}

/** Replay order: occurred_at, then id (the scanner's order, applied to every source). */
export function compareReplayRecords(a: ReplayRecord, b: ReplayRecord): number {
  if (a.at !== b.at) return a.at - b.at;
  return a.raw.id < b.raw.id ? -1 : a.raw.id > b.raw.id ? 1 : 0;
}

/**
 * Reads every path. Folders are transcript roots (scanned recursively for `*.jsonl`); files are
 * detected by content. A path that does not exist or a file of no known kind is an issue, never
 * fatal: a replay reports what it could not read.
 */
export async function readReplayInputs(
  paths: readonly string[],
  options: InputOptions = {},
): Promise<ReplayInput> {
  const stats = emptyStats();
  const files: Record<InputKind, number> = { transcript: 0, 'agent-sdk': 0, 'messages-api': 0 };
  const transcriptPaths: string[] = [];
  const others: IngestedRecord[] = [];
  const issue = (i: IngestIssue) => addIssue(stats, i);

  for (const path of paths) {
    let info: ReturnType<typeof statSync>;
    try {
      info = statSync(path);
    } catch {
      issue({ file: path, code: 'path_missing', detail: `no such file or directory: ${path}` });
      continue;
    }
    if (info.isDirectory()) {
      transcriptPaths.push(path);
      continue;
    }
    const kind = await detectFileKind(path);
    if (kind === 'transcript') transcriptPaths.push(path);
    else if (kind === 'agent-sdk') {
      const parsed = await readAgentSdkFile(path);
      files['agent-sdk'] += 1;
      addStats(stats, parsed.stats);
      others.push(...parsed.records);
    } else if (kind === 'messages-api') {
      const parsed = await readMessagesApiFile(path);
      files['messages-api'] += 1;
      addStats(stats, parsed.stats);
      others.push(...parsed.records);
    } else {
      issue({
        file: path,
        code: 'unknown_format',
        detail: 'not a Claude Code transcript, Agent SDK output or usage records file: not read',
      });
    }
  }

  const records: ReplayRecord[] = [];
  let filtered = 0;
  const since = options.since ?? null;
  const until = options.until ?? null;
  const keep = (r: IngestedRecord, at = parseInstant(r.occurred_at)): void => {
    if ((since !== null && at < since) || (until !== null && at >= until)) filtered += 1;
    else records.push(toReplayRecord(r, at));
  };

  if (transcriptPaths.length > 0 && options.parallelScan !== undefined) {
    const scan = await scanInParts(transcriptPaths, options.parallelScan, options.onLines);
    for (let i = 0; i < scan.records.length; i += 1) keep(scan.records[i]!, scan.instants[i]);
    options.onLines?.(scan.stats.linesRead, scan.files.length);
    files.transcript = scan.files.length;
    addStats(stats, scan.stats);
  } else if (transcriptPaths.length > 0) {
    const scan = scanTranscripts(transcriptPaths);
    const timer = options.onLines
      ? setInterval(() => options.onLines?.(scan.stats.linesRead, scan.files.length), 100)
      : null;
    try {
      for await (const record of scan) keep(record);
    } finally {
      if (timer !== null) clearInterval(timer);
    }
    options.onLines?.(scan.stats.linesRead, scan.files.length);
    files.transcript = scan.files.length;
    addStats(stats, scan.stats);
  }
  // Transcript records arrive sorted; the others are merged in and the whole sorted once.
  for (const r of others) keep(r);
  if (others.length > 0) records.sort(compareReplayRecords);
  return { records, stats, files, filtered };
}
