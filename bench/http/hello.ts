/**
 * The framework ceiling for `bench/http`: a Fastify hello-world with the creditpool server's process
 * settings (same Node, same logger level, JSON body parsed, 127.0.0.1). It answers `POST` on any
 * path with a small JSON object after parsing the body, so a run against it costs what the same
 * requests cost Fastify alone: the difference to creditpool is the ledger's work.
 *
 *   node bench/http/hello.ts [port]   prints `listening on http://127.0.0.1:<port>` once ready
 */
import Fastify from 'fastify';

const app = Fastify({ logger: { level: process.env.LOG_LEVEL || 'warn' } });
app.post('/*', async (request) => {
  const body = request.body as { records?: { id?: unknown }[] } | null;
  if (Array.isArray(body?.records)) {
    // A usage batch: one result-shaped object per record, as `POST /v1/usage` answers.
    return {
      results: body.records.map((record) => ({
        id: record.id,
        status: 'recorded',
        error: null,
        class: 'programmatic',
        cost_usd: '0.0009',
        charges: [{ source: 'sdk_credit', amount_usd: '0.0009' }],
        written_off_usd: '0',
      })),
    };
  }
  // An authorize-shaped answer.
  return { decision: 'allow', reason: null, source: 'sdk_credit', hold: null, retry_at: null };
});

const port = Number(process.argv[2] ?? 0);
await app.listen({ host: '127.0.0.1', port });
const address = app.server.address();
process.stdout.write(
  `listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}\n`,
);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void app.close().then(() => process.exit(0));
  });
}
