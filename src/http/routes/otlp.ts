/**
 * OpenTelemetry in (issue 6): `POST /v1/otlp/v1/logs` takes OTLP/HTTP JSON log exports from Claude
 * Code (`claude_code.api_request` events, usage-formats.md §5) and books them as usage through the
 * same use case as `POST /v1/usage`, so an operator meters without code: point Claude Code's
 * `OTEL_EXPORTER_OTLP_ENDPOINT` at `<server>/v1/otlp` (the exporter appends `/v1/logs`).
 *
 * Mapping is the ingest adapter's (`adapters/ingest/otlp`): the account id is the value of
 * `user.account_uuid` (or `CREDITPOOL_OTLP_ACCOUNT_ATTRIBUTE`), the surface is `app.entrypoint`
 * (or `CREDITPOOL_OTLP_DEFAULT_SURFACE`), the record id is the event's `request_id`, so an
 * exporter's retry is a replay and never counts twice (R12).
 *
 * The answer is OTLP's `ExportLogsServiceResponse`: `{"partialSuccess": {}}` when every
 * `api_request` was booked (or replayed), else `rejectedLogRecords` (an int64, so a decimal string
 * in OTLP/JSON) and an `errorMessage` naming the first refusals. Other events (prompts, tool
 * results) are accepted and ignored. Only JSON: protobuf is a 415 that says which setting to change.
 */
import { createGunzip } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { accountAttributeDefault, mapOtlpLogs } from '../../adapters/ingest/otlp/map.ts';
import { recordUsage, type UsageResult } from '../../app/index.ts';
import { usageBatchMax } from '../../app/limits.ts';
import { HttpProblem } from '../errors.ts';
import * as s from '../schemas.ts';
import type { RouteDeps } from './deps.ts';

export interface OtlpRouteOptions {
  /** The attribute whose value is the account id; default `user.account_uuid`. */
  accountAttribute?: string;
  /** The surface of events without `app.entrypoint` (Claude Code leaves it off by default). */
  defaultSurface?: string;
}

/**
 * The route's options from the environment: `CREDITPOOL_OTLP_ACCOUNT_ATTRIBUTE`,
 * `CREDITPOOL_OTLP_DEFAULT_SURFACE`. Empty values count as unset.
 *
 * @example
 * otlpOptionsFromEnv({ CREDITPOOL_OTLP_DEFAULT_SURFACE: 'cli' }) // { defaultSurface: 'cli' }
 */
export function otlpOptionsFromEnv(env: NodeJS.ProcessEnv): OtlpRouteOptions {
  const options: OtlpRouteOptions = {};
  if (env.CREDITPOOL_OTLP_ACCOUNT_ATTRIBUTE) options.accountAttribute = env.CREDITPOOL_OTLP_ACCOUNT_ATTRIBUTE;
  if (env.CREDITPOOL_OTLP_DEFAULT_SURFACE) options.defaultSurface = env.CREDITPOOL_OTLP_DEFAULT_SURFACE;
  return options;
}

/**
 * Body bound, after gunzip: an OTLP batch processor exports at most 512 log records by default and
 * an `api_request` record is ~1.5 kB of JSON, so 4 MiB is ~5 times the largest normal export.
 */
export const otlpBodyBytesMax = 4 * 1024 * 1024;
/** Refusal details quoted in `errorMessage`; the count covers the rest. */
export const otlpErrorsQuotedMax = 10;

/** OTLP/JSON `AnyValue`s and the rest of the export are checked by the mapper, not the schema. */
export const otlpLogsBody: Record<string, unknown> = {
  type: 'object',
  description:
    'OTLP/HTTP JSON ExportLogsServiceRequest (opentelemetry-proto logs/v1); only claude_code.api_request events are booked',
  required: ['resourceLogs'],
  additionalProperties: true,
  properties: {
    resourceLogs: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: true,
        properties: {
          resource: { type: 'object', additionalProperties: true },
          scopeLogs: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: true,
              properties: {
                logRecords: { type: 'array', items: { type: 'object', additionalProperties: true } },
              },
            },
          },
        },
      },
    },
  },
};

export const otlpLogsResponse: Record<string, unknown> = s.object({
  partialSuccess: s.object(
    {
      rejectedLogRecords: {
        type: 'string',
        pattern: '^[0-9]+$',
        description: 'api_request records refused (an int64: a decimal string in OTLP/JSON)',
      },
      errorMessage: { type: 'string' },
    },
    ['rejectedLogRecords', 'errorMessage'],
  ),
});

const protobufTypes = /^application\/(x-)?protobuf\b/i;

/** Refuses protobuf before the body is read: no parser exists for it, and the fix is a setting. */
async function refuseProtobuf(request: FastifyRequest): Promise<void> {
  const type = request.headers['content-type'] ?? '';
  if (protobufTypes.test(type)) {
    throw new HttpProblem(
      'invalid_request',
      'OTLP/HTTP protobuf is not supported: export OTLP/HTTP JSON (OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=http/json)',
      415,
    );
  }
}

/**
 * `Content-Encoding: gzip` (OTEL_EXPORTER_OTLP_COMPRESSION=gzip) is inflated before parsing;
 * Fastify counts the inflated bytes against the body limit, so a small bomb is still a 413.
 */
async function inflate(request: FastifyRequest, _reply: unknown, payload: NodeJS.ReadableStream) {
  const encoding = String(request.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding === 'identity') return payload;
  if (encoding !== 'gzip') {
    throw new HttpProblem(
      'invalid_request',
      `content-encoding ${encoding} is not supported (gzip or none)`,
      415,
    );
  }
  const gunzip = createGunzip() as ReturnType<typeof createGunzip> & { receivedEncodedLength: number };
  gunzip.receivedEncodedLength = 0;
  payload.on('data', (chunk: Buffer) => {
    gunzip.receivedEncodedLength += chunk.length;
  });
  payload.on('error', (error) => gunzip.destroy(error));
  return payload.pipe(gunzip);
}

export function otlpRoutes(
  app: FastifyInstance,
  { ctx, metrics }: RouteDeps,
  options: OtlpRouteOptions,
): void {
  const accountAttribute = options.accountAttribute ?? accountAttributeDefault;
  app.post<{ Body: unknown }>(
    '/v1/otlp/v1/logs',
    {
      config: { access: ['admin', 'meter'] },
      bodyLimit: otlpBodyBytesMax,
      onRequest: refuseProtobuf,
      preParsing: inflate,
      schema: {
        summary: `Book Claude Code telemetry (OTLP/HTTP JSON logs, claude_code.api_request events) as usage; account from ${accountAttribute}`,
        tags: ['metering'],
        body: otlpLogsBody,
        response: s.responses({ 200: otlpLogsResponse }),
      },
    },
    async (request) => {
      const { records, issues } = mapOtlpLogs(request.body, {
        accountAttribute,
        ...(options.defaultSurface === undefined ? {} : { defaultSurface: options.defaultSurface }),
      });
      const errors: string[] = issues.map((issue) => `${issue.code}: ${issue.detail}`);
      const native = records.map((r) => ({
        id: r.id,
        account_id: r.account_key,
        occurred_at: r.occurred_at,
        surface: r.surface,
        app: r.app,
        model: r.model,
        usage: r.usage,
      }));
      let rejected = issues.length;
      // A payload is bounded by its body size (~2,700 records at most); more than one batch is rare.
      for (let i = 0; i < native.length; i += usageBatchMax) {
        const results: UsageResult[] = await recordUsage(ctx, native.slice(i, i + usageBatchMax));
        metrics.countUsageResults(results);
        for (const result of results) {
          if (result.status !== 'rejected') continue;
          rejected += 1;
          errors.push(`${result.id}: ${result.error?.code}: ${result.error?.detail}`);
        }
      }
      if (rejected === 0) return { partialSuccess: {} };
      const quoted = errors.slice(0, otlpErrorsQuotedMax).join('; ');
      const more =
        errors.length > otlpErrorsQuotedMax ? `; and ${errors.length - otlpErrorsQuotedMax} more` : '';
      return {
        partialSuccess: {
          rejectedLogRecords: String(rejected),
          errorMessage: `${rejected} of ${issues.length + native.length} api_request records rejected: ${quoted}${more}`,
        },
      };
    },
  );
}
