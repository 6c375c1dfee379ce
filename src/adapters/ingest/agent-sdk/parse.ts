/**
 * Agent SDK output (usage-formats.md §2): `result` messages, `claude -p --output-format json`
 * (one result object) and `--output-format stream-json --verbose` (JSONL: `system`/`init`,
 * `assistant`, `rate_limit_event`, `user`, `result`). Rules: README.md.
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { formatInstant } from '../../../core/time.ts';
import { forEachLine, isBlank } from '../lines.ts';
import {
  addIssue,
  emptyStats,
  floatToDecimalString,
  type IngestedRecord,
  type IngestIssue,
  type IngestStats,
  normaliseTimestamp,
  usageProblem,
  usageTokenTotal,
} from '../record.ts';

/** Surface when neither the caller nor the data names one: `claude -p` writes these formats. */
export const agentSdkSurfaceDefault = 'sdk-cli';
/** Longest stream-json line: one message with its content blocks; 16 MiB bounds memory per line. */
export const agentSdkLineBytesMax = 16 * 1024 * 1024;
/** Largest whole-document JSON (a pretty-printed result or an array of messages), read at once. */
export const agentSdkDocumentBytesMax = 64 * 1024 * 1024;

export interface AgentSdkOptions {
  /** Overrides the surface (else `system/init`'s `entrypoint` if any, else `sdk-cli`). */
  surface?: string;
  /** Third-party app (`CLAUDE_AGENT_SDK_CLIENT_APP`), when the caller knows it. */
  app?: string | null;
  /** When the run happened: these formats carry no timestamps. A line's own `timestamp` wins. */
  occurredAt?: string;
  /** Named in `source.file` and in issues. */
  file?: string;
}

export type AccountKind = 'api' | 'subscription' | 'unknown';

export interface AgentSdkSummary {
  /** `system/init`'s `apiKeySource`, raw. */
  apiKeySource: string | null;
  /** `none`/`oauth`: a subscription login; `ANTHROPIC_API_KEY`: an API-key account (§2). */
  accountKind: AccountKind;
  sessionIds: string[];
  /** `total_cost_usd` of each session's latest result (never trusted; for comparison only). */
  reportedTotalCostUsd: Record<string, string>;
  /** Earlier cumulative results replaced by a later one of the same session. */
  resultsSuperseded: number;
  /** Assistant responses not emitted because their session's result covered them. */
  assistantCoveredByResult: number;
}

export interface AgentSdkParse {
  records: IngestedRecord[];
  stats: IngestStats;
  summary: AgentSdkSummary;
}

export function accountKindOf(apiKeySource: string | null): AccountKind {
  if (apiKeySource === 'none' || apiKeySource === 'oauth') return 'subscription';
  if (apiKeySource === 'ANTHROPIC_API_KEY') return 'api';
  return 'unknown';
}

type Json = Record<string, unknown>;

interface AssistantCopy {
  id: string;
  sessionId: string;
  model: string;
  usage: Json;
  total: number;
  at: string | null;
  line: number | undefined;
}

interface LatestResult {
  value: Json;
  line: number | undefined;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** camelCase `modelUsage` count fields → Messages API usage fields. */
const modelUsageFields: readonly [string, string][] = [
  ['inputTokens', 'input_tokens'],
  ['cacheCreationInputTokens', 'cache_creation_input_tokens'],
  ['cacheReadInputTokens', 'cache_read_input_tokens'],
  ['outputTokens', 'output_tokens'],
];

/**
 * Rebuilds a Messages API usage object from one `modelUsage` entry. Strict on numbers: every
 * count present must be a non-negative integer, and input/output tokens must be present.
 *
 * @example
 * modelUsageToUsage({ inputTokens: 2, outputTokens: 4, cacheReadInputTokens: 18338,
 *   cacheCreationInputTokens: 0, webSearchRequests: 0 })
 * // { usage: { input_tokens: 2, cache_creation_input_tokens: 0, cache_read_input_tokens: 18338,
 * //   output_tokens: 4, server_tool_use: { web_search_requests: 0 } } }
 */
export function modelUsageToUsage(entry: unknown): { usage: Json } | { problem: string } {
  if (!isObject(entry)) return { problem: 'modelUsage entry is not an object' };
  const usage: Json = {};
  for (const [from, to] of modelUsageFields) {
    const v = entry[from];
    if (v === undefined || v === null) {
      if (from === 'inputTokens' || from === 'outputTokens') return { problem: `${from} is missing` };
      continue;
    }
    if (!isCount(v)) return { problem: `${from} is not a non-negative integer` };
    usage[to] = v;
  }
  const write5m = entry.cacheCreationEphemeral5mInputTokens;
  const write1h = entry.cacheCreationEphemeral1hInputTokens;
  if ((write5m ?? null) !== null || (write1h ?? null) !== null) {
    const cacheCreation: Json = {};
    for (const [v, key] of [
      [write5m, 'ephemeral_5m_input_tokens'],
      [write1h, 'ephemeral_1h_input_tokens'],
    ] as const) {
      if (v === undefined || v === null) continue;
      if (!isCount(v)) return { problem: `${key} is not a non-negative integer` };
      cacheCreation[key] = v;
    }
    usage.cache_creation = cacheCreation;
  }
  const serverToolUse: Json = {};
  for (const [from, to] of [
    ['webSearchRequests', 'web_search_requests'],
    ['webFetchRequests', 'web_fetch_requests'],
  ] as const) {
    const v = entry[from];
    if (v === undefined || v === null) continue;
    if (!isCount(v)) return { problem: `${from} is not a non-negative integer` };
    serverToolUse[to] = v;
  }
  if (Object.keys(serverToolUse).length > 0) usage.server_tool_use = serverToolUse;
  return { usage };
}

/** True when every count, including server-tool requests, is zero. */
function isZeroUsage(usage: Json): boolean {
  if (usageTokenTotal(usage) !== 0) return false;
  const tools = usage.server_tool_use;
  return !isObject(tools) || Object.values(tools).every((v) => v === 0);
}

/**
 * Accumulates SDK messages in order (`add`), then decides what to emit (`finish`). Holds one
 * copy per assistant message id and the latest result per session: memory grows with responses,
 * not lines.
 */
export class AgentSdkReader {
  readonly stats: IngestStats = emptyStats();
  private readonly options: AgentSdkOptions;
  private apiKeySource: string | null = null;
  private initSurface: string | null = null;
  private readonly assistants = new Map<string, AssistantCopy>();
  private readonly results = new Map<string, LatestResult>();
  private resultsSuperseded = 0;
  private readonly sessionOrder: string[] = [];

  constructor(options: AgentSdkOptions = {}) {
    this.options = options;
  }

  private issue(line: number | undefined, code: string, detail: string): void {
    const issue: IngestIssue = { code, detail };
    if (this.options.file !== undefined) issue.file = this.options.file;
    if (line !== undefined) issue.line = line;
    addIssue(this.stats, issue);
  }

  private noteSession(id: string): void {
    if (!this.sessionOrder.includes(id)) this.sessionOrder.push(id);
  }

  /** Reports a problem that is not about one message (limits, options). */
  report(code: string, detail: string): void {
    this.issue(undefined, code, detail);
  }

  /** A line that is not JSON: counted and reported, never fatal. */
  unparseable(line: number | undefined, detail: string): void {
    this.stats.linesRead += 1;
    this.stats.unparseable += 1;
    this.issue(line, 'unparseable_line', detail);
  }

  tooLong(line: number, length: number, limit: number): void {
    this.stats.linesRead += 1;
    this.issue(line, 'line_too_long', `${length} bytes, over the limit of ${limit}: line skipped`);
  }

  add(value: unknown, line?: number): void {
    this.stats.linesRead += 1;
    if (!isObject(value)) {
      this.stats.unparseable += 1;
      this.issue(line, 'unparseable_line', 'not a JSON object');
      return;
    }
    const sessionId = typeof value.session_id === 'string' ? value.session_id : '';
    switch (value.type) {
      case 'system':
        if (value.subtype === 'init') {
          if (typeof value.apiKeySource === 'string') this.apiKeySource = value.apiKeySource;
          if (typeof value.entrypoint === 'string' && value.entrypoint.length > 0)
            this.initSurface = value.entrypoint;
          if (sessionId) this.noteSession(sessionId);
        }
        return;
      case 'assistant':
        this.addAssistant(value, sessionId, line);
        return;
      case 'result':
        this.addResult(value, sessionId, line);
        return;
      default:
        return; // user, rate_limit_event, stream_event, …: no usage
    }
  }

  private addAssistant(value: Json, sessionId: string, line: number | undefined): void {
    const problem = this.assistantProblem(value, sessionId, line);
    if (problem !== null) {
      this.stats.invalid += 1;
      this.issue(line, problem.code, problem.detail);
    }
  }

  /** Reads one assistant line; returns why it cannot become a record, or null. */
  private assistantProblem(
    value: Json,
    sessionId: string,
    line: number | undefined,
  ): { code: string; detail: string } | null {
    const message = value.message;
    if (!isObject(message) || message.usage === undefined || message.usage === null) return null;
    this.stats.usageLines += 1;
    if (message.model === '<synthetic>') {
      this.stats.synthetic += 1;
      return null;
    }
    const problem = usageProblem(message.usage);
    if (problem !== null) return { code: 'invalid_usage', detail: problem };
    if (typeof message.model !== 'string' || message.model.length === 0) {
      return { code: 'invalid_record', detail: 'message.model is not a non-empty string' };
    }
    const requestId = [value.requestId, value.request_id].find((v) => typeof v === 'string' && v.length > 0);
    const messageId = typeof message.id === 'string' && message.id.length > 0 ? message.id : null;
    const id = (requestId as string | undefined) ?? messageId;
    if (id === null) return { code: 'missing_id', detail: 'neither message.id nor a request id' };
    let at: string | null = null;
    if (value.timestamp !== undefined) {
      at = normaliseTimestamp(value.timestamp);
      if (at === null) return { code: 'invalid_timestamp', detail: 'timestamp is not RFC 3339' };
    }
    if (sessionId) this.noteSession(sessionId);
    const usage = message.usage as Json;
    const copy: AssistantCopy = {
      id,
      sessionId,
      model: message.model,
      usage,
      total: usageTokenTotal(usage),
      at,
      line,
    };
    const key = messageId ?? id;
    const held = this.assistants.get(key);
    if (held === undefined) {
      this.assistants.set(key, copy);
      return null;
    }
    // Several lines per message (one per content block, or partial then final): keep the largest.
    this.stats.duplicates += 1;
    if (copy.total > held.total) this.assistants.set(key, copy);
    return null;
  }

  private addResult(value: Json, sessionId: string, line: number | undefined): void {
    if (!sessionId) {
      this.invalid(line, 'missing_id', 'result without session_id');
      return;
    }
    if (!isObject(value.modelUsage)) {
      // Without modelUsage the totals per model are unknown; the assistant lines will be used.
      this.issue(line, 'missing_model_usage', 'result without modelUsage: per-message usage used instead');
      return;
    }
    this.noteSession(sessionId);
    this.stats.usageLines += 1;
    if (this.results.has(sessionId)) {
      this.resultsSuperseded += 1;
      this.stats.duplicates += 1;
    }
    // Cumulative within one query(): the latest replaces, never adds.
    this.results.set(sessionId, { value, line });
  }

  private invalid(line: number | undefined, code: string, detail: string): void {
    this.stats.invalid += 1;
    this.issue(line, code, detail);
  }

  finish(): AgentSdkParse {
    const records: IngestedRecord[] = [];
    const surface = this.options.surface ?? this.initSurface ?? agentSdkSurfaceDefault;
    const app = this.options.app ?? null;
    const fallbackAt =
      this.options.occurredAt === undefined ? null : normaliseTimestamp(this.options.occurredAt);
    if (this.options.occurredAt !== undefined && fallbackAt === null) {
      this.issue(undefined, 'missing_option', `occurredAt is not RFC 3339: ${this.options.occurredAt}`);
    }
    const reportedTotal: Record<string, string> = {};
    const source = (kind: 'agent-sdk-result' | 'stream-json', line: number | undefined) => {
      const s: IngestedRecord['source'] = { kind };
      if (this.options.file !== undefined) s.file = this.options.file;
      if (line !== undefined) s.line = line;
      return s;
    };
    let missingTime = 0;
    for (const [sessionId, { value, line }] of this.results) {
      const cost = floatToDecimalString(value.total_cost_usd);
      if (cost !== null) reportedTotal[sessionId] = cost;
      const at = normaliseTimestamp(value.timestamp) ?? fallbackAt;
      for (const [model, entry] of Object.entries(value.modelUsage as Json)) {
        const mapped = modelUsageToUsage(entry);
        if ('problem' in mapped) {
          this.invalid(line, 'invalid_usage', `modelUsage[${JSON.stringify(model)}]: ${mapped.problem}`);
          continue;
        }
        // A model listed with nothing used has nothing to bill.
        if (isZeroUsage(mapped.usage)) continue;
        if (at === null) {
          missingTime += 1;
          continue;
        }
        const record: IngestedRecord = {
          id: `${sessionId}:${model}`,
          occurred_at: at,
          surface,
          app,
          model,
          usage: mapped.usage,
          source: source('agent-sdk-result', line),
        };
        const reported = floatToDecimalString((entry as Json).costUSD);
        if (reported !== null) record.reported_cost_usd = reported;
        records.push(record);
      }
    }
    let covered = 0;
    for (const copy of this.assistants.values()) {
      if (this.results.has(copy.sessionId)) {
        covered += 1;
        continue;
      }
      const at = copy.at ?? fallbackAt;
      if (at === null) {
        missingTime += 1;
        continue;
      }
      records.push({
        id: copy.id,
        occurred_at: at,
        surface,
        app,
        model: copy.model,
        usage: copy.usage,
        source: source('stream-json', copy.line),
      });
    }
    if (missingTime > 0) {
      this.stats.invalid += missingTime;
      this.issue(undefined, 'missing_option', `${missingTime} record(s) without a time: pass occurredAt`);
    }
    records.sort((a, b) =>
      a.occurred_at === b.occurred_at
        ? a.id < b.id
          ? -1
          : 1
        : Date.parse(a.occurred_at) - Date.parse(b.occurred_at),
    );
    this.stats.records = records.length;
    return {
      records,
      stats: this.stats,
      summary: {
        apiKeySource: this.apiKeySource,
        accountKind: accountKindOf(this.apiKeySource),
        sessionIds: [...this.sessionOrder],
        reportedTotalCostUsd: reportedTotal,
        resultsSuperseded: this.resultsSuperseded,
        assistantCoveredByResult: covered,
      },
    };
  }
}

/**
 * Parses Agent SDK output held in memory: one JSON value (a result object or an array of
 * messages) or JSONL (stream-json). JSONL is tried first; text whose first line is not a complete
 * JSON value is read as one document.
 *
 * @example
 * parseAgentSdkText(stdoutOfClaudeP, { occurredAt: '2026-11-20T10:00:14Z' }).records
 */
export function parseAgentSdkText(text: string, options: AgentSdkOptions = {}): AgentSdkParse {
  const reader = new AgentSdkReader(options);
  const lines = text.split('\n');
  const first = lines.findIndex((l) => l.trim().length > 0);
  let firstValue: unknown;
  let jsonl = first >= 0;
  if (jsonl) {
    try {
      firstValue = JSON.parse(lines[first]!);
    } catch {
      jsonl = false;
    }
  }
  if (!jsonl || Array.isArray(firstValue)) {
    addDocument(reader, text);
    return reader.finish();
  }
  lines.forEach((l, i) => {
    if (l.trim().length === 0) return;
    let value: unknown;
    try {
      value = JSON.parse(l);
    } catch (error) {
      reader.unparseable(i + 1, (error as Error).message);
      return;
    }
    reader.add(value, i + 1);
  });
  return reader.finish();
}

function addDocument(reader: AgentSdkReader, text: string): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    reader.unparseable(undefined, (error as Error).message);
    return;
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) reader.add(v, i + 1);
  } else reader.add(value);
}

/**
 * Reads a file of Agent SDK output, streaming JSONL line by line. `occurredAt` defaults to the
 * file's modification time: `claude -p` writes its output when the run ends.
 */
export async function readAgentSdkFile(path: string, options: AgentSdkOptions = {}): Promise<AgentSdkParse> {
  const info = statSync(path);
  const merged: AgentSdkOptions = {
    file: path,
    occurredAt: formatInstant(Math.floor(info.mtimeMs)),
    ...options,
  };
  const reader = new AgentSdkReader(merged);
  let documentMode = false;
  await forEachLine(path, agentSdkLineBytesMax, {
    tooLong: (line, length) => reader.tooLong(line, length, agentSdkLineBytesMax),
    line: (bytes, start, end, line) => {
      if (documentMode || isBlank(bytes, start, end)) return;
      const text = bytes.toString('utf8', start, end);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        // A pretty-printed document's first line is not JSON on its own.
        if (line === 1 || reader.stats.linesRead === 0) documentMode = true;
        else reader.unparseable(line, (error as Error).message);
        return;
      }
      if (Array.isArray(value)) {
        for (const v of value) reader.add(v, line);
      } else reader.add(value, line);
    },
  });
  if (!documentMode) return reader.finish();
  const fresh = new AgentSdkReader(merged);
  if (info.size > agentSdkDocumentBytesMax) {
    fresh.report(
      'file_too_large',
      `a ${info.size}-byte JSON document, over the limit of ${agentSdkDocumentBytesMax}: not read`,
    );
    return fresh.finish();
  }
  addDocument(fresh, await readFile(path, 'utf8'));
  return fresh.finish();
}
