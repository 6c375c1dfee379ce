/**
 * Messages API usage (usage-formats.md §1): native creditpool records (the record of
 * `POST /v1/usage`, API.md) and raw Messages API responses (`{id, type: "message", model, usage}`),
 * one JSON value, a JSON array, or JSONL. Rules: README.md.
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { forEachLine, isBlank } from '../lines.ts';
import {
  addIssue,
  emptyStats,
  type IngestedRecord,
  type IngestIssue,
  type IngestStats,
  normaliseTimestamp,
  usageProblem,
} from '../record.ts';

/** Longest JSONL line: one record or response; 16 MiB bounds memory per line. */
export const messagesApiLineBytesMax = 16 * 1024 * 1024;
/** Largest whole-document JSON (an array or a pretty-printed response), which is read at once. */
export const messagesApiDocumentBytesMax = 64 * 1024 * 1024;
/** Longest id: ids are idempotency keys stored per account (R12), not payloads. */
export const recordIdLengthMax = 256;

export interface MessagesApiOptions {
  /** Surface of raw responses (they carry none). Native records carry their own. */
  surface?: string;
  /** Time of raw responses (they carry none), RFC 3339. */
  occurredAt?: string;
  /** App of raw responses, when known. */
  app?: string | null;
  /** Named in `source.file` and in issues. */
  file?: string;
}

/** A native record may name its account; raw responses never do. */
export type MessagesApiRecord = IngestedRecord & { account_id?: string };

export interface MessagesApiParse {
  records: MessagesApiRecord[];
  stats: IngestStats;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Accumulates values in order (`add`) and returns the records in input order (`finish`). */
export class MessagesApiReader {
  readonly stats: IngestStats = emptyStats();
  private readonly records: MessagesApiRecord[] = [];
  private readonly options: MessagesApiOptions;

  constructor(options: MessagesApiOptions = {}) {
    this.options = options;
  }

  report(line: number | undefined, code: string, detail: string): void {
    const issue: IngestIssue = { code, detail };
    if (this.options.file !== undefined) issue.file = this.options.file;
    if (line !== undefined) issue.line = line;
    addIssue(this.stats, issue);
  }

  unparseable(line: number | undefined, detail: string): void {
    this.stats.linesRead += 1;
    this.stats.unparseable += 1;
    this.report(line, 'unparseable_line', detail);
  }

  tooLong(line: number, length: number): void {
    this.stats.linesRead += 1;
    this.report(
      line,
      'line_too_long',
      `${length} bytes, over the limit of ${messagesApiLineBytesMax}: line skipped`,
    );
  }

  add(value: unknown, line?: number): void {
    this.stats.linesRead += 1;
    if (!isObject(value)) {
      this.stats.unparseable += 1;
      this.report(line, 'unparseable_line', 'not a JSON object');
      return;
    }
    this.stats.usageLines += 1;
    const outcome = value.type === 'message' ? this.fromResponse(value) : this.fromRecord(value);
    if ('code' in outcome) {
      this.stats.invalid += 1;
      this.report(line, outcome.code, outcome.detail);
      return;
    }
    const source: IngestedRecord['source'] = { kind: 'messages-api' };
    if (this.options.file !== undefined) source.file = this.options.file;
    if (line !== undefined) source.line = line;
    outcome.source = source;
    this.records.push(outcome);
  }

  /** A native record: every field is its own; nothing comes from the options. */
  private fromRecord(value: Json): MessagesApiRecord | { code: string; detail: string } {
    if (!('occurred_at' in value) && !('surface' in value)) {
      return { code: 'invalid_record', detail: 'neither a usage record nor a Messages API response' };
    }
    const common = this.common(value);
    if ('code' in common) return common;
    const occurredAt = normaliseTimestamp(value.occurred_at);
    if (occurredAt === null)
      return { code: 'invalid_timestamp', detail: `${common.id}: occurred_at is not RFC 3339` };
    if (!nonEmpty(value.surface)) return { code: 'missing_entrypoint', detail: `${common.id}: no surface` };
    if (value.app !== undefined && value.app !== null && !nonEmpty(value.app)) {
      return { code: 'invalid_record', detail: `${common.id}: app is not a string or null` };
    }
    const record: MessagesApiRecord = {
      id: common.id,
      occurred_at: occurredAt,
      surface: value.surface,
      app: (value.app as string | null | undefined) ?? null,
      model: common.model,
      usage: common.usage,
      source: { kind: 'messages-api' },
    };
    if (value.account_id !== undefined) {
      if (!nonEmpty(value.account_id))
        return { code: 'invalid_record', detail: `${common.id}: account_id is not a string` };
      record.account_id = value.account_id;
    }
    return record;
  }

  /** A raw response: id, model and usage are its own; surface, time and app come from the caller. */
  private fromResponse(value: Json): MessagesApiRecord | { code: string; detail: string } {
    const common = this.common(value);
    if ('code' in common) return common;
    if (!nonEmpty(this.options.surface)) {
      return { code: 'missing_option', detail: `${common.id}: a raw response needs the surface option` };
    }
    const occurredAt = normaliseTimestamp(this.options.occurredAt);
    if (occurredAt === null) {
      return {
        code: 'missing_option',
        detail: `${common.id}: a raw response needs an RFC 3339 occurredAt option`,
      };
    }
    return {
      id: common.id,
      occurred_at: occurredAt,
      surface: this.options.surface,
      app: this.options.app ?? null,
      model: common.model,
      usage: common.usage,
      source: { kind: 'messages-api' },
    };
  }

  private common(value: Json): { id: string; model: string; usage: Json } | { code: string; detail: string } {
    if (!nonEmpty(value.id) || value.id.length > recordIdLengthMax) {
      return { code: 'missing_id', detail: `id must be a string of 1 to ${recordIdLengthMax} characters` };
    }
    if (!nonEmpty(value.model)) return { code: 'invalid_record', detail: `${value.id}: no model` };
    const problem = usageProblem(value.usage);
    if (problem !== null) return { code: 'invalid_usage', detail: `${value.id}: ${problem}` };
    return { id: value.id, model: value.model, usage: value.usage as Json };
  }

  finish(): MessagesApiParse {
    this.stats.records = this.records.length;
    return { records: this.records, stats: this.stats };
  }
}

function addDocument(reader: MessagesApiReader, text: string): void {
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
 * Parses text held in memory: JSONL when its first non-blank line is a JSON object on its own,
 * else one JSON document (an object or an array; array positions are reported as `line`).
 *
 * @example
 * parseMessagesApiText(JSON.stringify(response), { surface: 'sdk-ts', occurredAt: '2026-11-20T10:00:14Z' })
 */
export function parseMessagesApiText(text: string, options: MessagesApiOptions = {}): MessagesApiParse {
  const reader = new MessagesApiReader(options);
  const lines = text.split('\n');
  const first = lines.findIndex((l) => l.trim().length > 0);
  let jsonl = false;
  if (first >= 0) {
    try {
      jsonl = isObject(JSON.parse(lines[first]!));
    } catch {
      jsonl = false;
    }
  }
  if (!jsonl) {
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

/** Reads a file: JSONL streamed line by line; a whole JSON document read at once, up to its limit. */
export async function readMessagesApiFile(
  path: string,
  options: MessagesApiOptions = {},
): Promise<MessagesApiParse> {
  const merged: MessagesApiOptions = { file: path, ...options };
  const reader = new MessagesApiReader(merged);
  let documentMode = false;
  await forEachLine(path, messagesApiLineBytesMax, {
    tooLong: (line, length) => reader.tooLong(line, length),
    line: (bytes, start, end, line) => {
      if (documentMode || isBlank(bytes, start, end)) return;
      let value: unknown;
      try {
        value = JSON.parse(bytes.toString('utf8', start, end));
      } catch (error) {
        if (reader.stats.linesRead === 0) documentMode = true;
        else reader.unparseable(line, (error as Error).message);
        return;
      }
      if (reader.stats.linesRead === 0 && Array.isArray(value)) {
        // A one-line JSON array: a document, not a line.
        for (const [i, v] of value.entries()) reader.add(v, i + 1);
        return;
      }
      reader.add(value, line);
    },
  });
  if (!documentMode) return reader.finish();
  const fresh = new MessagesApiReader(merged);
  const size = statSync(path).size;
  if (size > messagesApiDocumentBytesMax) {
    fresh.report(
      undefined,
      'file_too_large',
      `a ${size}-byte JSON document, over the limit of ${messagesApiDocumentBytesMax}: not read`,
    );
    return fresh.finish();
  }
  addDocument(fresh, await readFile(path, 'utf8'));
  return fresh.finish();
}
