/**
 * A seeded generator of a large synthetic Claude Code transcript corpus, shaped like real
 * `~/.claude/projects` trees (usage-formats.md §3), for benchmarks and for checking the scanner's
 * counts against known truth (the manifest it returns).
 *
 *   node scripts/gen-transcripts.ts --out DIR --lines 400000 --seed 1 [--bytes-per-line 2600]
 *
 * Shape: project folders holding session files, some with `<session>/subagents/agent-*.jsonl`;
 * user prompts and tool results, assistant responses written as one line per content block (each
 * repeating the usage, the first sometimes partial), sidechain replays of a parent's response,
 * `<synthetic>` error placeholders, old sessions without `entrypoint`, and a few lines cut short.
 * Fast: text comes from one pre-escaped pool, lines are built as strings, each file is one write.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CorpusOptions {
  out: string;
  /** Lines to write (approximately: a session is never cut in half). */
  lines: number;
  seed: number;
  /** Average bytes per line, set through the content text; ~2600 gives ~1 GB for 400,000 lines. */
  bytesPerLine?: number;
  /** Multiplies the rates of rare shapes (old sessions, synthetic, broken lines, replays), so a tiny corpus has them all. */
  anomalyRate?: number;
}

/** What was written, counted the way the scanner counts: a scan must reproduce these numbers. */
export interface CorpusManifest {
  files: number;
  bytes: number;
  linesWritten: number;
  usageLines: number;
  records: number;
  duplicates: number;
  sidechainReplays: number;
  synthetic: number;
  missingEntrypoint: number;
  unparseable: number;
}

export const bytesPerLineDefault = 2600;

const entrypoints = [
  'cli',
  'cli',
  'cli',
  'cli',
  'sdk-cli',
  'sdk-cli',
  'sdk-ts',
  'sdk-ts',
  'claude-vscode',
  'claude-vscode',
];
const mainModels = [
  'claude-opus-5-5',
  'claude-opus-5-5',
  'claude-sonnet-5-5',
  'claude-sonnet-5-5',
  'claude-fable-5-1',
];
const subagentModel = 'claude-haiku-4-5-20251001';
const words = (
  'the a of to and in is for that this with on as function return const let value file test error ' +
  'usage token request response cache model session record build import export type interface await ' +
  'async string number index result check update rename helper module config path line parse stream ' +
  'bill credit account ledger surface policy cycle price rate limit retry timeout handler server'
).split(' ');
/** 1 May 2026 .. 30 November 2026, the corpus's spread of session starts. */
const timeStart = Date.UTC(2026, 4, 1);
const timeSpan = Date.UTC(2026, 10, 30) - timeStart;
const base62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** mulberry32: small, fast, and good enough to shape test data. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateCorpus(options: CorpusOptions): CorpusManifest {
  const rand = prng(options.seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const chance = (p: number): boolean => rand() < p;
  const id = (prefix: string): string => {
    let s = prefix;
    for (let i = 0; i < 22; i += 1) s += base62[Math.floor(rand() * 62)];
    return s;
  };
  const hex = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i += 1) s += '0123456789abcdef'[Math.floor(rand() * 16)];
    return s;
  };
  const uuid = (): string => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;

  // One pool of JSON-escaped prose and code; slices start and end at spaces, so no escape is cut.
  let pool = '';
  while (pool.length < 4 * 1024 * 1024) {
    pool += pick(words);
    pool += chance(0.08) ? '\\n ' : chance(0.02) ? ' \\"quoted\\" ' : ' ';
  }
  const textOf = (length: number): string => {
    if (length <= 0) return '';
    const start = pool.indexOf(' ', int(0, pool.length - length - 64)) + 1;
    const end = pool.indexOf(' ', start + length);
    return pool.slice(start, end);
  };
  const k = options.anomalyRate ?? 1;
  const rare = (p: number): boolean => chance(Math.min(0.5, p * k));
  const bytesPerLine = options.bytesPerLine ?? bytesPerLineDefault;
  // Fixed overhead of a line without text is ~700 bytes (assistant) / ~400 (user).
  const textMean = Math.max(0, bytesPerLine - 560);
  const textLength = (): number => int(0, 2 * textMean);

  const projects = Array.from({ length: 60 }, (_, i) => `-home-dev-${pick(words)}-${pick(words)}-${i}`);
  const m: CorpusManifest = {
    files: 0,
    bytes: 0,
    linesWritten: 0,
    usageLines: 0,
    records: 0,
    duplicates: 0,
    sidechainReplays: 0,
    synthetic: 0,
    missingEntrypoint: 0,
    unparseable: 0,
  };
  const write = (file: string, lines: string[]): void => {
    const text = `${lines.join('\n')}\n`;
    writeFileSync(file, text);
    m.files += 1;
    m.bytes += Buffer.byteLength(text);
    m.linesWritten += lines.length;
  };

  while (m.linesWritten < options.lines) {
    const project = pick(projects);
    const sessionId = uuid();
    const old = rare(0.03);
    const entrypoint = old ? null : pick(entrypoints);
    const version = old ? `1.0.${int(10, 60)}` : `2.1.${int(100, 331)}`;
    const model = pick(mainModels);
    const cwd = `/home/dev/${project.slice(10)}`;
    let clock = timeStart + Math.floor(rand() * timeSpan);
    const stamp = (): string => {
      clock += int(200, 30_000);
      return new Date(clock).toISOString();
    };
    const head = (sidechain: boolean): string =>
      `"isSidechain":${sidechain},"userType":"external",${entrypoint === null ? '' : `"entrypoint":"${entrypoint}",`}"cwd":"${cwd}","sessionId":"${sessionId}","version":"${version}","gitBranch":"main"`;
    let parent = uuid();
    const userLine = (sidechain: boolean, toolUseId: string | null): string => {
      const uid = uuid();
      const content =
        toolUseId === null
          ? `"${textOf(int(20, 400))}"`
          : `[{"tool_use_id":"${toolUseId}","type":"tool_result","content":"${textOf(textLength())}"}]`;
      const line = `{"parentUuid":"${parent}",${head(sidechain)},"type":"user","message":{"role":"user","content":${content}},"uuid":"${uid}","timestamp":"${stamp()}"}`;
      parent = uid;
      return line;
    };
    const usageJson = (
      input: number,
      write5m: number,
      write1h: number,
      read: number,
      output: number,
    ): string =>
      `{"input_tokens":${input},"cache_creation_input_tokens":${write5m + write1h},"cache_read_input_tokens":${read},"output_tokens":${output},"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":"standard","cache_creation":{"ephemeral_1h_input_tokens":${write1h},"ephemeral_5m_input_tokens":${write5m}},"inference_geo":"not_available","speed":"standard"}`;
    /** One response: one line per content block, each repeating the usage; returns the lines. */
    const response = (sidechain: boolean, responseModel: string, ids?: { msg: string; req: string }) => {
      const msg = ids?.msg ?? id('msg_01');
      const req = ids?.req ?? id('req_01');
      const blocks = int(1, 3);
      const usage = usageJson(
        int(1, 3000),
        chance(0.5) ? int(0, 8000) : 0,
        chance(0.2) ? int(0, 4000) : 0,
        int(0, 150_000),
        int(5, 4000),
      );
      const lines: string[] = [];
      let toolUseId: string | null = null;
      for (let b = 0; b < blocks; b += 1) {
        const partial = b === 0 && blocks > 1 && chance(0.4);
        const last = b === blocks - 1;
        let content: string;
        if (last && chance(0.6)) {
          toolUseId = id('toolu_01');
          content = `{"type":"tool_use","id":"${toolUseId}","name":"Edit","input":{"file_path":"${cwd}/src/x.ts","new_string":"${textOf(textLength())}"}}`;
        } else if (b === 0 && blocks > 1)
          content = `{"type":"thinking","thinking":"${textOf(textLength())}","signature":"${hex(64)}"}`;
        else content = `{"type":"text","text":"${textOf(textLength())}"}`;
        const u = partial ? usageJson(1, 0, 0, 0, 1) : usage;
        const uid = uuid();
        lines.push(
          `{"parentUuid":"${parent}",${head(sidechain)},"message":{"model":"${responseModel}","id":"${msg}","type":"message","role":"assistant","content":[${content}],"stop_reason":${last ? (toolUseId ? '"tool_use"' : '"end_turn"') : 'null'},"stop_sequence":null,"usage":${u}},"requestId":"${req}","type":"assistant","uuid":"${uid}","timestamp":"${stamp()}"}`,
        );
        parent = uid;
      }
      m.usageLines += blocks;
      m.records += 1;
      m.duplicates += blocks - 1;
      if (entrypoint === null) m.missingEntrypoint += blocks;
      return { lines, msg, req, toolUseId };
    };
    const synthetic = (sidechain: boolean): string => {
      m.usageLines += 1;
      m.synthetic += 1;
      const uid = uuid();
      const line = `{"parentUuid":"${parent}",${head(sidechain)},"message":{"id":"${uuid()}","model":"<synthetic>","role":"assistant","stop_reason":"stop_sequence","stop_sequence":"","type":"message","usage":${usageJson(0, 0, 0, 0, 0)},"content":[{"type":"text","text":"API Error: Request was aborted."}]},"type":"assistant","uuid":"${uid}","timestamp":"${stamp()}","isApiErrorMessage":true}`;
      parent = uid;
      return line;
    };
    const broken = (line: string): string => {
      m.unparseable += 1;
      return line.slice(0, int(20, line.length - 2));
    };

    const main: string[] = [];
    const turns = int(3, 40);
    const parentResponses: { msg: string; req: string }[] = [];
    for (let t = 0; t < turns; t += 1) {
      main.push(userLine(false, null));
      const steps = int(1, 4);
      for (let s = 0; s < steps; s += 1) {
        if (rare(0.005)) main.push(synthetic(false));
        const r = response(false, model);
        main.push(...r.lines);
        parentResponses.push({ msg: r.msg, req: r.req });
        if (r.toolUseId !== null) main.push(userLine(false, r.toolUseId));
      }
      if (chance(0.03))
        main.push(
          `{${head(false)},"type":"system","subtype":"compact_boundary","content":"Conversation compacted","uuid":"${uuid()}","timestamp":"${stamp()}"}`,
        );
      if (rare(0.0015)) main.push(broken(main[main.length - 1]!));
    }
    if (chance(0.3)) main.push(`{"type":"summary","summary":"${textOf(60)}","leafUuid":"${parent}"}`);
    const dir = join(options.out, project);
    mkdirSync(dir, { recursive: true });
    write(join(dir, `${sessionId}.jsonl`), main);

    if (chance(0.3)) {
      // A Task subagent's sidechain log: its own requests, sometimes a replay of a parent response.
      const side: string[] = [];
      parent = uuid();
      side.push(userLine(true, null));
      for (let s = int(1, 8); s > 0; s -= 1) {
        const r = response(true, subagentModel);
        side.push(...r.lines);
        if (r.toolUseId !== null) side.push(userLine(true, r.toolUseId));
      }
      if (rare(0.3) && parentResponses.length > 0) {
        const replayed = pick(parentResponses);
        const r = response(true, model, { msg: replayed.msg, req: id('req_01') });
        side.push(...r.lines);
        // The replay's first line is a new key; the scanner drops it for the parent's copy.
        m.records -= 1;
        m.sidechainReplays += 1;
      }
      const subDir = join(dir, sessionId, 'subagents');
      mkdirSync(subDir, { recursive: true });
      write(join(subDir, `agent-${hex(8)}.jsonl`), side);
    }
  }
  return m;
}

function parseArgs(argv: string[]): CorpusOptions {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const out = value('out');
  if (out === undefined)
    throw new Error('usage: gen-transcripts.ts --out DIR [--lines N] [--seed S] [--bytes-per-line B]');
  const number = (name: string, fallback: number): number => {
    const text = value(name);
    const n = text === undefined ? fallback : Number(text);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer`);
    return n;
  };
  return {
    out,
    lines: number('lines', 400_000),
    seed: number('seed', 1),
    bytesPerLine: number('bytes-per-line', bytesPerLineDefault),
  };
}

if (import.meta.main) {
  const started = performance.now();
  const manifest = generateCorpus(parseArgs(process.argv.slice(2)));
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ ...manifest, seconds: Number(seconds.toFixed(2)) }, null, 2));
}
