/**
 * The common output of every ingest adapter: one usage record per billable API response, in the
 * shape of the native record of `POST /v1/usage` (API.md), plus where it came from. Adapters only
 * parse: pricing resolves the model, booking checks the surface (R1), the id (R12) and the time
 * (R13).
 */
import { formatInstant, parseInstant } from '../../core/time.ts';

export type IngestSourceKind =
  | 'messages-api'
  | 'agent-sdk-result'
  | 'stream-json'
  | 'claude-code-transcript'
  | 'otlp';

export interface IngestedRecord {
  /**
   * The idempotency id (R12). Transcript and stream lines: `requestId` when present, else
   * `message.id`. Agent SDK results: `${session_id}:${model}` (a result has no message ids, and
   * within one `query()` it is cumulative, so one id per session and model makes a later, larger
   * result collide with an earlier one instead of counting twice; see agent-sdk/README.md).
   */
  id: string;
  /** RFC 3339, normalised by `core/time.ts` (UTC, milliseconds only when not zero). */
  occurred_at: string;
  /** The entrypoint value (R1), raw: the booking layer rejects surfaces it does not know. */
  surface: string;
  /** Third-party app name, when the source names one. */
  app: string | null;
  /** The raw model string as written; pricing resolves aliases. */
  model: string;
  /** A Messages API usage object (snake_case), as the API returned it or rebuilt from camelCase. */
  usage: Record<string, unknown>;
  source: { file?: string; line?: number; kind: IngestSourceKind };
  /**
   * The client's own cost estimate, never trusted (always repriced from tokens), kept so a report
   * can show the difference. Converted by `floatToDecimalString` (shortest round-trip decimal).
   */
  reported_cost_usd?: string;
}

export interface IngestIssue {
  file?: string;
  line?: number;
  /**
   * Stable codes: `unparseable_line`, `line_too_long`, `file_too_large`, `file_unreadable`,
   * `path_missing`, `missing_entrypoint`, `synthetic`, `invalid_record`, `invalid_usage`,
   * `invalid_timestamp`, `missing_id`, `missing_option`, `missing_account`, `invalid_attribute`.
   */
  code: string;
  detail: string;
}

export interface IngestStats {
  /** Non-empty lines read (or objects, for whole-document JSON). */
  linesRead: number;
  /** Lines that carry a usage object (including synthetic ones and duplicates). */
  usageLines: number;
  /** Usage lines dropped because a copy with the same key was kept. */
  duplicates: number;
  /** Keys dropped because they were sidechain replays of a parent's message. */
  sidechainReplays: number;
  /** `<synthetic>` error placeholders (zero usage, never emitted). */
  synthetic: number;
  /** Usage lines without an entrypoint, classified by the adapter's documented rule. */
  missingEntrypoint: number;
  /** Lines that are not JSON (or not a JSON object). */
  unparseable: number;
  /** Usage lines that parsed but could not become a record (bad id, time or token counts). */
  invalid: number;
  /** Records emitted. */
  records: number;
  /** The first `issuesMax` issues, in reading order. */
  issues: IngestIssue[];
  /** Issues beyond `issuesMax`, counted but not kept. */
  issuesDropped: number;
}

/** Issues kept per run: enough to find every broken file, bounded so a corrupt corpus cannot exhaust memory. */
export const issuesMax = 1000;

export function emptyStats(): IngestStats {
  return {
    linesRead: 0,
    usageLines: 0,
    duplicates: 0,
    sidechainReplays: 0,
    synthetic: 0,
    missingEntrypoint: 0,
    unparseable: 0,
    invalid: 0,
    records: 0,
    issues: [],
    issuesDropped: 0,
  };
}

/**
 * Adds one run's counts and issues to another's. Issues keep their order (the first `issuesMax`
 * of both, in turn); those that do not fit are counted.
 */
export function addStats(into: IngestStats, from: IngestStats): void {
  into.linesRead += from.linesRead;
  into.usageLines += from.usageLines;
  into.duplicates += from.duplicates;
  into.sidechainReplays += from.sidechainReplays;
  into.synthetic += from.synthetic;
  into.missingEntrypoint += from.missingEntrypoint;
  into.unparseable += from.unparseable;
  into.invalid += from.invalid;
  into.records += from.records;
  for (const issue of from.issues) addIssue(into, issue);
  into.issuesDropped += from.issuesDropped;
}

/** Records an issue, keeping at most `issuesMax` and counting the rest. */
export function addIssue(stats: IngestStats, issue: IngestIssue): void {
  if (stats.issues.length < issuesMax) stats.issues.push(issue);
  else stats.issuesDropped += 1;
}

/**
 * The exact decimal string of a client-side cost estimate (a float in JSON): the shortest decimal
 * that reads back as the same double (ECMAScript's Number-to-String), written without an exponent.
 * So `0.0057465` stays `"0.0057465"` rather than the double's 53-bit binary expansion. Returns null
 * for anything that is not a finite, non-negative number.
 *
 * @example
 * floatToDecimalString(0.0057465) // '0.0057465'
 * floatToDecimalString(1e-7) // '0.0000001'
 */
export function floatToDecimalString(value: unknown): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return null;
  const text = String(value);
  const e = text.indexOf('e');
  if (e < 0) return text;
  const exponent = Number(text.slice(e + 1));
  const mantissa = text.slice(0, e);
  const dot = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  const pointAt = (dot < 0 ? mantissa.length : dot) + exponent;
  if (pointAt <= 0) return `0.${'0'.repeat(-pointAt)}${digits}`;
  if (pointAt >= digits.length) return digits + '0'.repeat(pointAt - digits.length);
  return `${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
}

/** Token fields of a usage object that must be non-negative integers when present. */
const usageCountFields = [
  'input_tokens',
  'output_tokens',
  'cache_creation_input_tokens',
  'cache_read_input_tokens',
] as const;

function isCount(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Checks a Messages API usage object: an object whose token counts, when present and not null,
 * are non-negative safe integers (including the nested cache and server-tool counts). Returns a
 * reason, or null when it is acceptable. Fields are not rewritten: the object stays as sent.
 */
export function usageProblem(usage: unknown): string | null {
  if (typeof usage !== 'object' || usage === null || Array.isArray(usage)) return 'usage is not an object';
  const u = usage as Record<string, unknown>;
  for (const field of usageCountFields) {
    const v = u[field];
    if (v !== undefined && v !== null && !isCount(v)) return `${field} is not a non-negative integer`;
  }
  for (const nested of ['cache_creation', 'server_tool_use'] as const) {
    const n = u[nested];
    if (n === undefined || n === null) continue;
    if (typeof n !== 'object' || Array.isArray(n)) return `${nested} is not an object`;
    for (const [k, v] of Object.entries(n)) {
      if (v !== undefined && v !== null && !isCount(v)) return `${nested}.${k} is not a non-negative integer`;
    }
  }
  return null;
}

/** Input + output + cache write + cache read tokens: the "largest copy" measure for dedup. */
export function usageTokenTotal(usage: Record<string, unknown>): number {
  let total = 0;
  for (const field of usageCountFields) {
    const v = usage[field];
    if (typeof v === 'number') total += v;
  }
  return total;
}

/**
 * Normalises an RFC 3339 timestamp through `core/time.ts` (strict parse, canonical format), or
 * returns null when it is not one.
 */
export function normaliseTimestamp(text: unknown): string | null {
  if (typeof text !== 'string') return null;
  try {
    return formatInstant(parseInstant(text));
  } catch {
    return null;
  }
}

/** Replay order: occurred_at as an instant, then id. For small arrays; the scanner sorts on cached instants. */
export function compareRecords(a: IngestedRecord, b: IngestedRecord): number {
  const ta = parseInstant(a.occurred_at);
  const tb = parseInstant(b.occurred_at);
  if (ta !== tb) return ta - tb;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
