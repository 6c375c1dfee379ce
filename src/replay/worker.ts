/**
 * A replay worker thread (`parallel.ts`): reads the ranges of the transcript scan it is given,
 * then, once given the records, replays the plans the main thread sends it, one at a time, each
 * through a fresh engine (`replayPlan`).
 *
 * Only `node:` modules are imported statically: the compile cache has to be on before the
 * project's modules load, and the engine's modules are loaded only once the scan is done (while
 * the main thread merges it), so that reading starts as soon as the thread does.
 */
import { enableCompileCache } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type { Catalogues } from '../app/index.ts';
import type { replayPlan as ReplayPlan } from './engine.ts';
import type { ReplayRecord } from './inputs.ts';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './parallel.ts';

const port = parentPort;
if (port === null) throw new Error('replay/worker.ts runs as a worker thread only');
const setup = workerData as WorkerSetup;
if (setup.compileCacheDir !== null) enableCompileCache(setup.compileCacheDir);
const reply = (message: WorkerReply) => port.postMessage(message);
/** Scan progress is posted at most this often (a progress bar redraws every 100 ms). */
const scanProgressEveryMs = 100;

const scanner = import('../adapters/ingest/claude-code/scan.ts');
let engine: Promise<{ replayPlan: typeof ReplayPlan; catalogues: Catalogues }> | null = null;
function loadEngine() {
  engine ??= (async () => {
    const [{ replayPlan }, { priceCatalogueFromEnv }, { defaultCatalogues }] = await Promise.all([
      import('./engine.ts'),
      import('../adapters/prices-file.ts'),
      import('../app/index.ts'),
    ]);
    const catalogues: Catalogues = {
      ...defaultCatalogues,
      prices: priceCatalogueFromEnv({ CREDITPOOL_PRICES: setup.pricesFile ?? '' }),
    };
    return { replayPlan, catalogues };
  })();
  return engine;
}

let replaying: Extract<WorkerRequest, { type: 'records' }> | null = null;
let records: ReplayRecord[] = [];

async function handle(request: WorkerRequest): Promise<void> {
  if (request.type === 'scan') {
    const { scanTranscriptPart } = await scanner;
    let lastPost = performance.now();
    const part = await scanTranscriptPart(
      request.files,
      request.first,
      request.end,
      request.options,
      (lines) => {
        const now = performance.now();
        if (now - lastPost < scanProgressEveryMs) return;
        lastPost = now;
        reply({ type: 'scanning', linesRead: lines });
      },
    );
    reply({ type: 'scanned', partJson: JSON.stringify(part) });
    // Loaded while the main thread merges; a failure (a bad price file) is the first plan's to report.
    loadEngine().catch(() => {});
    return;
  }
  if (request.type === 'records') {
    records = JSON.parse(request.recordsJson) as ReplayRecord[];
    replaying = request;
    loadEngine().catch(() => {});
    return;
  }
  const { replayPlan, catalogues } = await loadEngine();
  const setup = replaying;
  if (setup === null) throw new Error('replay worker: a plan before the records');
  const plan = request.plan;
  const result = await replayPlan(records, {
    plan,
    anchor: setup.anchor,
    claimedAt: setup.claimedAt,
    usageCredits: setup.usageCredits,
    usageCreditLimitUnits: setup.usageCreditLimitUnits === null ? null : BigInt(setup.usageCreditLimitUnits),
    catalogues,
    onProgress: (booked) => reply({ type: 'progress', plan, booked }),
  });
  reply({ type: 'done', plan, result });
}

port.on('message', (request: WorkerRequest) => {
  handle(request).catch((error: unknown) => {
    const message = (error as Error).stack ?? String(error);
    reply({ type: 'failed', message: request.type === 'plan' ? `${request.plan}: ${message}` : message });
  });
});
