/**
 * Claude Code transcripts (`<root>/<project>/<sessionId>.jsonl`, sidechains under
 * `<sessionId>/subagents/`): usage-formats.md §3. One record per API response, deduplicated
 * across all files, emitted after the scan in replay order. Rules and limits: README.md.
 */
import { statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { formatInstant, parseInstant } from '../../../core/time.ts';
import { forEachLine, isBlank, jsonValueEnd, looksLikeObject } from '../lines.ts';
import {
  addIssue,
  addStats,
  emptyStats,
  floatToDecimalString,
  type IngestedRecord,
  type IngestStats,
  usageProblem,
  usageTokenTotal,
} from '../record.ts';

/**
 * Longest line read: the writer puts a whole response (every content block, tool inputs such as a
 * file being written) on one line; 16 MiB is far above any real one and bounds memory per line.
 */
export const transcriptLineBytesMax = 16 * 1024 * 1024;
/**
 * Largest file read: sessions are cleaned after 30 days and a busy one is tens of MiB; a file over
 * 2 GiB is not a transcript we can trust, and reading it would dominate a scan.
 */
export const transcriptFileBytesMax = 2 * 1024 * 1024 * 1024;
/** Surface for usage lines without `entrypoint` (old writers): see README.md for why `cli`. */
export const missingEntrypointSurfaceDefault = 'cli';

export interface ScanOptions {
  /** Surface given to usage lines without `entrypoint`; default `cli`. */
  missingEntrypointSurface?: string;
  /** Limits, overridable so tests can reach them with small files. */
  lineBytesMax?: number;
  fileBytesMax?: number;
}

/** The records of a scan, plus its statistics (final once iteration has ended). */
export interface TranscriptScan extends AsyncIterable<IngestedRecord> {
  readonly stats: IngestStats;
  /** The transcript files read, in reading order. */
  readonly files: readonly string[];
}

/**
 * The transcript roots Claude Code writes to. With `CLAUDE_CONFIG_DIR` set, only its entries:
 * a comma-separated list of configuration directories (like `~/.claude`), each holding its
 * transcripts in `projects/`. Otherwise both default locations (`~/.claude/projects`, and
 * `~/.config/claude/projects` used by newer versions). Pure: the caller passes env and home.
 *
 * @example
 * defaultTranscriptRoots({}, '/home/dev') // ['/home/dev/.claude/projects', '/home/dev/.config/claude/projects']
 * defaultTranscriptRoots({ CLAUDE_CONFIG_DIR: '/a, ~/b' }, '/home/dev') // ['/a/projects', '/home/dev/b/projects']
 */
export function defaultTranscriptRoots(env: Record<string, string | undefined>, homedir: string): string[] {
  const configured = (env.CLAUDE_CONFIG_DIR ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  const configDirs =
    configured.length > 0 ? configured : [join(homedir, '.claude'), join(homedir, '.config', 'claude')];
  const roots: string[] = [];
  for (const dir of configDirs) {
    // A shell expands `~` only at the start of a word; a list in one variable keeps it literal.
    const expanded = dir === '~' ? homedir : dir.startsWith('~/') ? join(homedir, dir.slice(2)) : dir;
    const root = join(expanded, 'projects');
    if (!roots.includes(root)) roots.push(root);
  }
  return roots;
}

/**
 * The best copy seen of one (message.id, requestId) key. Kept small on purpose: a scan holds one
 * per API response (400,000 for a large corpus); the line's other fields are dropped at once.
 */
export interface TranscriptCandidate {
  messageId: string | null;
  requestId: string | null;
  sidechain: boolean;
  total: number;
  at: number;
  surface: string;
  model: string;
  usage: Record<string, unknown>;
  file: number;
  line: number;
  cost: string | null;
}

type Candidate = TranscriptCandidate;

/** `"usage"` as bytes: a line without this token cannot carry a usage object (see README.md). */
const usageToken = Buffer.from('"usage"');

/**
 * Scans transcript files and directories (recursively, `*.jsonl` only; a file named explicitly is
 * read whatever its name). Never throws for bad data: every problem becomes a counted issue.
 *
 * @example
 * const scan = scanTranscripts(defaultTranscriptRoots(process.env, os.homedir()));
 * for await (const record of scan) book(record);
 * console.log(scan.stats.duplicates, scan.stats.issues);
 */
export function scanTranscripts(paths: string[], options: ScanOptions = {}): TranscriptScan {
  const stats = emptyStats();
  const files: string[] = [];
  return {
    stats,
    files,
    async *[Symbol.asyncIterator]() {
      const scanner = new Scanner(stats, files, options);
      await scanner.collectFiles(paths);
      for (let i = 0; i < files.length; i += 1) {
        await scanner.readFile(i);
        // Reads are synchronous (lines.ts): let other work run between files.
        await new Promise((done) => setImmediate(done));
      }
      const kept = scanner.resolve();
      kept.sort(compareCandidates);
      stats.records = kept.length;
      for (const c of kept) yield toRecord(c, files);
    },
  };
}

/**
 * One thread's share of a scan (`scanTranscriptPart`): the best copies among a contiguous range of
 * the scan's files, and that range's counts. Plain data, so it can cross a thread boundary.
 */
export interface TranscriptScanPart {
  /**
   * The part's best copy of each key, in the order the part first met the keys (and, within a
   * message, its request ids). Offering them in this order, part after part, reproduces a whole
   * scan exactly: keeping the largest copy, ties to the parent's and then to the first read, is an
   * associative choice, so the best of the bests is the best of all.
   */
  candidates: TranscriptCandidate[];
  /** The range's counts: `records` and `sidechainReplays` are decided by the merge. */
  stats: IngestStats;
}

/**
 * The transcript files a scan of `paths` reads, in reading order (directories walked recursively
 * for `*.jsonl`, sorted; a file reached twice listed once). Missing paths become issues in `stats`.
 */
export async function listTranscriptFiles(paths: string[], stats: IngestStats): Promise<string[]> {
  const files: string[] = [];
  await new Scanner(stats, files, {}).collectFiles(paths);
  return files;
}

/**
 * Reads `files[first]` up to (not including) `files[end]` and keeps each key's best copy, as a
 * whole scan would, for `mergeTranscriptParts`. Lets several threads share one scan: the files
 * are split into contiguous ranges, each read by one thread, and the parts merged in order.
 * `onProgress` is told the lines read so far after each file.
 */
export async function scanTranscriptPart(
  files: readonly string[],
  first: number,
  end: number,
  options: ScanOptions = {},
  onProgress?: (linesRead: number) => void,
): Promise<TranscriptScanPart> {
  const stats = emptyStats();
  const scanner = new Scanner(stats, [...files], options);
  for (let i = first; i < end; i += 1) {
    await scanner.readFile(i);
    onProgress?.(stats.linesRead);
    // Reads are synchronous (lines.ts): let other work (a progress message) run between files.
    await new Promise((done) => setImmediate(done));
  }
  return { candidates: scanner.candidates(), stats };
}

/**
 * Merges the parts of one scan of `files` (in file order: part k read the files before part k+1's)
 * into the records a whole scan emits, in replay order, with each record's instant (`instants[i]`
 * is `records[i].occurred_at` parsed: a caller that orders or filters by time need not parse it
 * again). Each part's counts are added to `stats`, then the duplicates and sidechain replays found
 * across parts, and `records`.
 */
export function mergeTranscriptParts(
  files: readonly string[],
  parts: readonly TranscriptScanPart[],
  stats: IngestStats,
): { records: IngestedRecord[]; instants: number[] } {
  const scanner = new Scanner(stats, [...files], {});
  for (const part of parts) {
    addStats(stats, part.stats);
    for (const c of part.candidates) scanner.offer(c);
  }
  const kept = scanner.resolve();
  kept.sort(compareCandidates);
  stats.records += kept.length;
  return { records: kept.map((c) => toRecord(c, files)), instants: kept.map((c) => c.at) };
}

/** Collects a whole scan into memory: for tests and small corpora. */
export async function readTranscripts(
  paths: string[],
  options: ScanOptions = {},
): Promise<{ records: IngestedRecord[]; stats: IngestStats; files: readonly string[] }> {
  const scan = scanTranscripts(paths, options);
  const records: IngestedRecord[] = [];
  for await (const record of scan) records.push(record);
  return { records, stats: scan.stats, files: scan.files };
}

function compareCandidates(a: Candidate, b: Candidate): number {
  if (a.at !== b.at) return a.at - b.at;
  const ia = a.requestId ?? a.messageId!;
  const ib = b.requestId ?? b.messageId!;
  return ia < ib ? -1 : ia > ib ? 1 : 0;
}

function toRecord(c: Candidate, files: readonly string[]): IngestedRecord {
  const record: IngestedRecord = {
    id: c.requestId ?? c.messageId!,
    occurred_at: formatInstant(c.at),
    surface: c.surface,
    app: null,
    model: c.model,
    usage: c.usage,
    source: { file: files[c.file]!, line: c.line, kind: 'claude-code-transcript' },
  };
  if (c.cost !== null) record.reported_cost_usd = c.cost;
  return record;
}

const messageKey = Buffer.from('"message":');
const contentKey = Buffer.from('"content":');
/** Content values shorter than this are decoded with the line: cutting them saves nothing. */
const contentCutBytesMin = 512;

/**
 * The line as text, with the value of the first `"content":` key after `"message":` replaced by
 * `[]`. Content blocks (text, thinking, tool inputs) are most of a line's bytes and none of its
 * usage; not decoding and parsing them more than doubles the scan rate. Safe because an unescaped
 * `"content":` can only be a key, and a key's value can only contain its own descendants: the
 * fields read here (top-level keys, `message.id/model/usage`) are never under a `content` key.
 */
function withoutContent(bytes: Buffer, start: number, end: number): string {
  const message = bytes.indexOf(messageKey, start);
  if (message < 0 || message >= end) return bytes.toString('utf8', start, end);
  const content = bytes.indexOf(contentKey, message + messageKey.length);
  if (content < 0 || content >= end) return bytes.toString('utf8', start, end);
  const valueStart = content + contentKey.length;
  const valueEnd = jsonValueEnd(bytes, valueStart, end);
  if (valueEnd < 0 || valueEnd - valueStart < contentCutBytesMin) return bytes.toString('utf8', start, end);
  return `${bytes.toString('utf8', start, valueStart)}[]${bytes.toString('utf8', valueEnd, end)}`;
}

class Scanner {
  /** Best copies by message.id (or `?requestId` when a line has no message id). */
  private readonly byMessage = new Map<string, Candidate | Candidate[]>();
  /** One string per distinct model and surface instead of one per line. */
  private readonly interned = new Map<string, string>();
  private readonly stats: IngestStats;
  private readonly files: string[];
  private readonly missingSurface: string;
  private readonly lineBytesMax: number;
  private readonly fileBytesMax: number;

  constructor(stats: IngestStats, files: string[], options: ScanOptions) {
    this.stats = stats;
    this.files = files;
    this.missingSurface = options.missingEntrypointSurface ?? missingEntrypointSurfaceDefault;
    this.lineBytesMax = options.lineBytesMax ?? transcriptLineBytesMax;
    this.fileBytesMax = options.fileBytesMax ?? transcriptFileBytesMax;
  }

  async collectFiles(paths: string[]): Promise<void> {
    const seen = new Set<string>();
    const add = (file: string): void => {
      const key = resolve(file);
      if (seen.has(key)) return;
      seen.add(key);
      this.files.push(file);
    };
    for (const path of paths) {
      let info: Awaited<ReturnType<typeof stat>>;
      try {
        info = await stat(path);
      } catch {
        addIssue(this.stats, {
          file: path,
          code: 'path_missing',
          detail: `no such file or directory: ${path}`,
        });
        continue;
      }
      if (info.isFile()) {
        add(path);
        continue;
      }
      const entries = await readdir(path, { recursive: true, withFileTypes: true });
      const found: string[] = [];
      for (const entry of entries) {
        if (entry.isFile() && entry.name.endsWith('.jsonl')) found.push(join(entry.parentPath, entry.name));
      }
      // Sorted so that a scan is reproducible (readdir order depends on the file system).
      found.sort();
      for (const file of found) add(file);
    }
  }

  async readFile(index: number): Promise<void> {
    const file = this.files[index]!;
    const stats = this.stats;
    try {
      const info = statSync(file);
      if (info.size > this.fileBytesMax) {
        addIssue(stats, {
          file,
          code: 'file_too_large',
          detail: `${info.size} bytes, over the limit of ${this.fileBytesMax}: file skipped`,
        });
        return;
      }
    } catch (error) {
      addIssue(stats, { file, code: 'file_unreadable', detail: String(error) });
      return;
    }
    let missingEntrypoint = 0;
    let firstMissing = 0;
    let synthetic = 0;
    let firstSynthetic = 0;
    try {
      await forEachLine(
        file,
        this.lineBytesMax,
        {
          tooLong: (line, length) => {
            stats.linesRead += 1;
            addIssue(stats, {
              file,
              line,
              code: 'line_too_long',
              detail: `${length} bytes, over the limit of ${this.lineBytesMax}: line skipped`,
            });
          },
          line: (bytes, start, end, line, hasUsage) => {
            if (isBlank(bytes, start, end)) return;
            stats.linesRead += 1;
            if (!hasUsage) {
              // Not a usage line: only its framing is checked (a parse would cost more than the scan).
              if (!looksLikeObject(bytes, start, end)) this.unparseable(file, line, 'not a JSON object');
              return;
            }
            const outcome = this.readLine(bytes, start, end, index, line);
            if (outcome === 'missing_entrypoint') {
              missingEntrypoint += 1;
              if (firstMissing === 0) firstMissing = line;
            } else if (outcome === 'synthetic') {
              synthetic += 1;
              if (firstSynthetic === 0) firstSynthetic = line;
            }
          },
        },
        usageToken,
      );
    } catch (error) {
      addIssue(stats, { file, code: 'file_unreadable', detail: `read failed: ${String(error)}` });
    }
    // One issue per file and kind, not per line: a long old session would otherwise fill the list.
    if (missingEntrypoint > 0) {
      addIssue(stats, {
        file,
        line: firstMissing,
        code: 'missing_entrypoint',
        detail: `${missingEntrypoint} usage line(s) without entrypoint, classified as ${this.missingSurface}`,
      });
    }
    if (synthetic > 0) {
      addIssue(stats, {
        file,
        line: firstSynthetic,
        code: 'synthetic',
        detail: `${synthetic} <synthetic> error placeholder line(s), not billed`,
      });
    }
  }

  private unparseable(file: string, line: number, detail: string): void {
    this.stats.unparseable += 1;
    addIssue(this.stats, { file, line, code: 'unparseable_line', detail });
  }

  private invalid(file: string, line: number, code: string, detail: string): 'invalid' {
    this.stats.invalid += 1;
    addIssue(this.stats, { file, line, code, detail });
    return 'invalid';
  }

  private intern(text: string): string {
    const known = this.interned.get(text);
    if (known !== undefined) return known;
    this.interned.set(text, text);
    return text;
  }

  /** Reads one line that may carry usage. Returns what it was, for the per-file summaries. */
  private readLine(
    bytes: Buffer,
    start: number,
    end: number,
    fileIndex: number,
    line: number,
  ): 'other' | 'kept' | 'invalid' | 'synthetic' | 'missing_entrypoint' {
    const file = this.files[fileIndex]!;
    let value: unknown;
    try {
      value = JSON.parse(withoutContent(bytes, start, end));
    } catch {
      try {
        // The cut is an optimisation only: any doubt, and the whole line decides.
        value = JSON.parse(bytes.toString('utf8', start, end));
      } catch (error) {
        this.unparseable(file, line, (error as Error).message);
        return 'invalid';
      }
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.unparseable(file, line, 'not a JSON object');
      return 'invalid';
    }
    const entry = value as Record<string, unknown>;
    // Only assistant lines carry usage (§3); `"usage"` elsewhere is text that happened to match.
    if (entry.type !== 'assistant') return 'other';
    const message = entry.message as Record<string, unknown> | undefined;
    if (typeof message !== 'object' || message === null) return 'other';
    const usage = message.usage;
    if (usage === undefined || usage === null) return 'other';
    this.stats.usageLines += 1;
    if (message.model === '<synthetic>') {
      this.stats.synthetic += 1;
      return 'synthetic';
    }
    if (typeof message.model !== 'string' || message.model.length === 0) {
      return this.invalid(file, line, 'invalid_record', 'message.model is not a non-empty string');
    }
    const problem = usageProblem(usage);
    if (problem !== null) return this.invalid(file, line, 'invalid_usage', problem);
    const messageId = typeof message.id === 'string' && message.id.length > 0 ? message.id : null;
    const requestId =
      typeof entry.requestId === 'string' && entry.requestId.length > 0 ? entry.requestId : null;
    if (messageId === null && requestId === null) {
      return this.invalid(file, line, 'missing_id', 'neither message.id nor requestId');
    }
    let at: number;
    try {
      at = parseInstant(entry.timestamp as string);
    } catch (error) {
      return this.invalid(file, line, 'invalid_timestamp', (error as Error).message);
    }
    const hasEntrypoint = typeof entry.entrypoint === 'string' && entry.entrypoint.length > 0;
    if (!hasEntrypoint) this.stats.missingEntrypoint += 1;
    const u = usage as Record<string, unknown>;
    this.offer({
      messageId,
      requestId,
      sidechain: entry.isSidechain === true,
      total: usageTokenTotal(u),
      at,
      surface: hasEntrypoint ? this.intern(entry.entrypoint as string) : this.missingSurface,
      model: this.intern(message.model),
      usage: u,
      file: fileIndex,
      line,
      cost: floatToDecimalString(entry.costUSD),
    });
    return hasEntrypoint ? 'kept' : 'missing_entrypoint';
  }

  /** The best copies so far, in the order their keys were first met (see `TranscriptScanPart`). */
  candidates(): Candidate[] {
    const out: Candidate[] = [];
    for (const held of this.byMessage.values()) {
      if (Array.isArray(held)) out.push(...held);
      else out.push(held);
    }
    return out;
  }

  /** Keeps the larger of two copies of one key; on a tie the parent's, then the first read. */
  offer(c: Candidate): void {
    const key = c.messageId ?? `?${c.requestId}`;
    const held = this.byMessage.get(key);
    if (held === undefined) {
      this.byMessage.set(key, c);
      return;
    }
    const group = Array.isArray(held) ? held : [held];
    for (let i = 0; i < group.length; i += 1) {
      const other = group[i]!;
      if (other.requestId !== c.requestId) continue;
      this.stats.duplicates += 1;
      if (c.total > other.total || (c.total === other.total && other.sidechain && !c.sidechain)) {
        if (Array.isArray(held)) group[i] = c;
        else this.byMessage.set(key, c);
      }
      return;
    }
    // Same message, another request: either a sidechain replay or (rarely) a real second request.
    if (Array.isArray(held)) held.push(c);
    else this.byMessage.set(key, [held, c]);
  }

  /** Applies the sidechain rule and returns the copies to emit. */
  resolve(): Candidate[] {
    const kept: Candidate[] = [];
    for (const held of this.byMessage.values()) {
      if (!Array.isArray(held)) {
        kept.push(held);
        continue;
      }
      const hasParent = held.some((c) => !c.sidechain);
      for (const c of held) {
        if (hasParent && c.sidechain) this.stats.sidechainReplays += 1;
        else kept.push(c);
      }
    }
    this.byMessage.clear();
    return kept;
  }
}
