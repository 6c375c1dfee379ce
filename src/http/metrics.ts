/**
 * Prometheus metrics (`GET /metrics`). One registry per server instance, so tests that build many
 * servers in one process never collide on metric names. Labels are bounded sets: the route
 * pattern (never the raw URL), the status, the decision and its reason code.
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Latency buckets in seconds: the authorize gate should sit in the first few. */
const latencyBucketsSeconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requestSeconds: Histogram<'method' | 'route' | 'status'>;
  readonly authorizeDecisions: Counter<'decision' | 'reason'>;
  readonly usageRecords: Counter<'status'>;

  constructor(options: { processMetrics: boolean }) {
    const registers = [this.registry];
    this.requestSeconds = new Histogram({
      name: 'creditpool_http_request_duration_seconds',
      help: 'HTTP request latency by route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: latencyBucketsSeconds,
      registers,
    });
    this.authorizeDecisions = new Counter({
      name: 'creditpool_authorize_decisions_total',
      help: 'authorize answers by decision and deny reason ("none" for an allow)',
      labelNames: ['decision', 'reason'],
      registers,
    });
    this.usageRecords = new Counter({
      name: 'creditpool_usage_records_total',
      help: 'usage records (POST /v1/usage and hold settles) by result status',
      labelNames: ['status'],
      registers,
    });
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'creditpool_' });
  }

  /** One request's latency; `elapsedMs` is Fastify's `reply.elapsedTime`. */
  observeRequest(method: string, route: string, status: number, elapsedMs: number): void {
    this.requestSeconds.observe({ method, route, status: String(status) }, elapsedMs / 1000);
  }

  /**
   * Usage results by status: one increment per status present, not one per record (a batch of
   * 1000 would otherwise pay the label lookup 1000 times).
   */
  countUsageResults(results: readonly { status: string }[]): void {
    const counts = new Map<string, number>();
    for (const { status } of results) counts.set(status, (counts.get(status) ?? 0) + 1);
    for (const [status, n] of counts) this.usageRecords.inc({ status }, n);
  }
}
