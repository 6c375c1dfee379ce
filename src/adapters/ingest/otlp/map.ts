/**
 * OTLP/HTTP JSON logs from Claude Code telemetry (usage-formats.md §5) → usage records, for
 * `claude_code.api_request` events only. Pure: no I/O, no clock. Rules: README.md.
 */
import { formatInstant } from '../../../core/time.ts';
import {
  floatToDecimalString,
  type IngestedRecord,
  type IngestIssue,
  normaliseTimestamp,
} from '../record.ts';

export const accountAttributeDefault = 'user.account_uuid';
/** Log records read per payload: an exporter batches at most a few thousand; more is not a batch. */
export const otlpLogRecordsMax = 100_000;

export interface OtlpMapOptions {
  /** Attribute whose value becomes `account_key`; default `user.account_uuid`. */
  accountAttribute?: string;
  /** Surface when `app.entrypoint` is absent (it is off by default); none: the record is refused. */
  defaultSurface?: string;
}

export type OtlpRecord = IngestedRecord & { account_key: string };

/** Names the event may carry, in `event.name`, the log's `eventName`, or its body. */
const apiRequestNames = new Set(['api_request', 'claude_code.api_request']);

type AttributeValue = string | number | boolean | null;

/**
 * One OTLP `AnyValue` as a plain value. `intValue` is a string in OTLP/JSON (64-bit integers do
 * not fit a JSON number): kept as text here and checked by `count`.
 */
function anyValue(value: unknown): AttributeValue {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.stringValue === 'string') return v.stringValue;
  if (typeof v.intValue === 'string' || typeof v.intValue === 'number') return String(v.intValue);
  if (typeof v.doubleValue === 'number') return v.doubleValue;
  if (typeof v.boolValue === 'boolean') return v.boolValue;
  return null;
}

function attributes(list: unknown, into: Map<string, AttributeValue>): void {
  if (!Array.isArray(list)) return;
  for (const a of list) {
    if (typeof a === 'object' && a !== null && typeof (a as { key?: unknown }).key === 'string') {
      into.set((a as { key: string }).key, anyValue((a as { value?: unknown }).value));
    }
  }
}

/**
 * A token count, strict: a decimal integer (from `intValue`, a digit-only `stringValue`, or an
 * integral `doubleValue`) within the safe-integer range. Anything else is refused, never rounded.
 */
function count(value: AttributeValue | undefined): number | null | 'absent' {
  if (value === undefined || value === null) return 'absent';
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value !== 'string' || !/^\d{1,16}$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

const arrayOf = (value: unknown, key: string): unknown[] => {
  if (typeof value !== 'object' || value === null) return [];
  const list = (value as Record<string, unknown>)[key];
  return Array.isArray(list) ? list : [];
};

/**
 * Maps an OTLP/HTTP JSON logs payload to records. Events other than `api_request` are ignored;
 * an `api_request` that cannot be a record (no request id, account, surface, time, or a bad
 * count) is reported as an issue with its position (`resourceLogs[i].scopeLogs[j].logRecords[k]`).
 *
 * @example
 * const { records, issues } = mapOtlpLogs(body, { defaultSurface: 'cli' });
 */
export function mapOtlpLogs(
  payload: unknown,
  options: OtlpMapOptions = {},
): { records: OtlpRecord[]; issues: IngestIssue[] } {
  const accountAttribute = options.accountAttribute ?? accountAttributeDefault;
  const records: OtlpRecord[] = [];
  const issues: IngestIssue[] = [];
  if (
    typeof payload !== 'object' ||
    payload === null ||
    !Array.isArray((payload as Record<string, unknown>).resourceLogs)
  ) {
    issues.push({ code: 'invalid_record', detail: 'payload has no resourceLogs array' });
    return { records, issues };
  }
  let seen = 0;
  arrayOf(payload, 'resourceLogs').forEach((resourceLog, i) => {
    const resource = new Map<string, AttributeValue>();
    attributes((resourceLog as { resource?: { attributes?: unknown } }).resource?.attributes, resource);
    arrayOf(resourceLog, 'scopeLogs').forEach((scopeLog, j) => {
      arrayOf(scopeLog, 'logRecords').forEach((logRecord, k) => {
        seen += 1;
        if (seen > otlpLogRecordsMax) {
          if (seen === otlpLogRecordsMax + 1) {
            issues.push({
              code: 'batch_too_large',
              detail: `more than ${otlpLogRecordsMax} log records: the rest ignored`,
            });
          }
          return;
        }
        const where = `resourceLogs[${i}].scopeLogs[${j}].logRecords[${k}]`;
        const outcome = mapLogRecord(logRecord, resource, accountAttribute, options.defaultSurface);
        if (outcome === null) return;
        if ('code' in outcome) issues.push({ code: outcome.code, detail: `${where}: ${outcome.detail}` });
        else records.push(outcome);
      });
    });
  });
  return { records, issues };
}

function eventName(logRecord: Record<string, unknown>, attrs: Map<string, AttributeValue>): string | null {
  const fromAttr = attrs.get('event.name');
  if (typeof fromAttr === 'string') return fromAttr;
  if (typeof logRecord.eventName === 'string') return logRecord.eventName;
  const body = anyValue(logRecord.body);
  return typeof body === 'string' ? body : null;
}

function mapLogRecord(
  logRecord: unknown,
  resource: Map<string, AttributeValue>,
  accountAttribute: string,
  defaultSurface: string | undefined,
): OtlpRecord | { code: string; detail: string } | null {
  if (typeof logRecord !== 'object' || logRecord === null) return null;
  const log = logRecord as Record<string, unknown>;
  // Resource attributes first, the event's own override them.
  const attrs = new Map(resource);
  attributes(log.attributes, attrs);
  const name = eventName(log, attrs);
  if (name === null || !apiRequestNames.has(name)) return null;

  const text = (key: string): string | null => {
    const v = attrs.get(key);
    return typeof v === 'string' && v.length > 0 ? v : null;
  };
  const requestId = text('request_id');
  if (requestId === null) return { code: 'missing_id', detail: 'api_request without request_id' };
  const model = text('model');
  if (model === null) return { code: 'invalid_record', detail: `${requestId}: no model` };
  const accountKey = text(accountAttribute);
  if (accountKey === null) return { code: 'missing_account', detail: `${requestId}: no ${accountAttribute}` };
  const surface = text('app.entrypoint') ?? defaultSurface ?? null;
  if (surface === null) {
    return { code: 'missing_entrypoint', detail: `${requestId}: no app.entrypoint and no default surface` };
  }
  const occurredAt = eventTime(attrs, log);
  if (occurredAt === null) return { code: 'invalid_timestamp', detail: `${requestId}: no usable event time` };

  const usage: Record<string, unknown> = {};
  const fields: [string, string, boolean][] = [
    ['input_tokens', 'input_tokens', true],
    ['cache_creation_tokens', 'cache_creation_input_tokens', false],
    ['cache_read_tokens', 'cache_read_input_tokens', false],
    ['output_tokens', 'output_tokens', true],
  ];
  for (const [from, to, required] of fields) {
    const n = count(attrs.get(from));
    if (n === null)
      return { code: 'invalid_attribute', detail: `${requestId}: ${from} is not a non-negative integer` };
    if (n === 'absent') {
      if (required) return { code: 'invalid_attribute', detail: `${requestId}: ${from} is missing` };
      continue;
    }
    usage[to] = n;
  }
  const cacheCreation: Record<string, number> = {};
  for (const [from, to] of [
    ['cache_creation_5m_tokens', 'ephemeral_5m_input_tokens'],
    ['cache_creation_1h_tokens', 'ephemeral_1h_input_tokens'],
  ] as const) {
    const n = count(attrs.get(from));
    if (n === null)
      return { code: 'invalid_attribute', detail: `${requestId}: ${from} is not a non-negative integer` };
    if (n !== 'absent') cacheCreation[to] = n;
  }
  if (Object.keys(cacheCreation).length > 0) usage.cache_creation = cacheCreation;
  const speed = text('speed');
  if (speed !== null) usage.speed = speed;

  const record: OtlpRecord = {
    id: requestId,
    occurred_at: occurredAt,
    surface,
    app: null,
    model,
    usage,
    source: { kind: 'otlp' },
    account_key: accountKey,
  };
  const cost = reportedCost(attrs.get('cost_usd'));
  if (cost !== null) record.reported_cost_usd = cost;
  return record;
}

/** `cost_usd` arrives as a double or as text; kept as a decimal string, never as a float. */
function reportedCost(value: AttributeValue | undefined): string | null {
  if (typeof value === 'number') return floatToDecimalString(value);
  if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value)) return value;
  return null;
}

/**
 * `event.timestamp` (RFC 3339, written by Claude Code when the request ended) first; else the
 * log record's `timeUnixNano`, then `observedTimeUnixNano` (decimal nanoseconds as a string).
 */
function eventTime(attrs: Map<string, AttributeValue>, log: Record<string, unknown>): string | null {
  const stamp = attrs.get('event.timestamp');
  if (stamp !== undefined && stamp !== null) return normaliseTimestamp(stamp);
  for (const key of ['timeUnixNano', 'observedTimeUnixNano']) {
    const v = log[key];
    const digits = typeof v === 'number' ? String(v) : v;
    if (typeof digits !== 'string' || !/^\d{1,20}$/.test(digits) || /^0+$/.test(digits)) continue;
    // Milliseconds from nanoseconds by dropping digits: exact, truncated toward the past.
    const ms = digits.length > 6 ? Number(digits.slice(0, -6)) : 0;
    if (!Number.isSafeInteger(ms)) continue;
    const text = normaliseTimestamp(formatInstant(ms));
    if (text !== null) return text;
  }
  return null;
}
