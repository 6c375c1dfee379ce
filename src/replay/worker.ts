/**
 * A replay worker thread (`parallel.ts`): parses the records once, then replays the plans the main
 * thread sends it, one at a time, each through a fresh engine (`replayPlan`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { priceCatalogueFromEnv } from '../adapters/prices-file.ts';
import { type Catalogues, defaultCatalogues } from '../app/index.ts';
import { replayPlan } from './engine.ts';
import type { ReplayRecord } from './inputs.ts';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './parallel.ts';

const port = parentPort;
if (port === null) throw new Error('replay/worker.ts runs as a worker thread only');
const setup = workerData as WorkerSetup;
const records = JSON.parse(setup.recordsJson) as ReplayRecord[];
const catalogues: Catalogues = {
  ...defaultCatalogues,
  prices: priceCatalogueFromEnv({ CREDITPOOL_PRICES: setup.pricesFile ?? '' }),
};
const reply = (message: WorkerReply) => port.postMessage(message);

port.on('message', async (request: WorkerRequest) => {
  if (request.type === 'stop') {
    port.close();
    return;
  }
  const plan = request.plan;
  try {
    const result = await replayPlan(records, {
      plan,
      anchor: setup.anchor,
      claimedAt: setup.claimedAt,
      usageCredits: setup.usageCredits,
      usageCreditLimitUnits:
        setup.usageCreditLimitUnits === null ? null : BigInt(setup.usageCreditLimitUnits),
      catalogues,
      onProgress: (booked) => reply({ type: 'progress', plan, booked }),
    });
    reply({ type: 'done', plan, result });
  } catch (error) {
    reply({ type: 'failed', plan, message: (error as Error).stack ?? String(error) });
  }
});
