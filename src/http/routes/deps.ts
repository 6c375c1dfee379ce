import type { AppContext, ManualClock } from '../../app/index.ts';
import type { ServerMetrics } from '../metrics.ts';

/** What every route module is built with. */
export interface RouteDeps {
  ctx: AppContext;
  metrics: ServerMetrics;
  /** Set only for `--test-clock` servers: the clock `ctx` runs on. */
  testClock: ManualClock | null;
}
