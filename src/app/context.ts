/**
 * What every use case runs with: the store, the clock and the dated catalogues. Catalogues are
 * data passed in (an operator may load their own), never module constants read from inside.
 */
import { defaultPlanCatalogues, type PlanCatalogue } from '../core/plans.ts';
import { defaultPolicyTimeline, type PolicyVersion } from '../core/policy.ts';
import { defaultPriceCatalogue, type PriceCatalogue } from '../core/prices/index.ts';
import { defaultSurfaceTables, type SurfaceTable } from '../core/surfaces.ts';
import type { Instant } from '../core/time.ts';
import type { AlertSettings } from './events.ts';
import type { Clock, Store } from './ports.ts';

export interface Catalogues {
  prices: PriceCatalogue;
  plans: readonly PlanCatalogue[];
  surfaces: readonly SurfaceTable[];
  policy: readonly PolicyVersion[];
}

export interface AppContext {
  store: Store;
  clock: Clock;
  catalogues: Catalogues;
  /** Credit alert thresholds and the expiry warning's lead (`events.ts`); default 50/80/100, 3 days. */
  alerts?: AlertSettings;
}

export const defaultCatalogues: Catalogues = {
  prices: defaultPriceCatalogue,
  plans: defaultPlanCatalogues,
  surfaces: defaultSurfaceTables,
  policy: defaultPolicyTimeline,
};

export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock that starts at a given instant and only moves forward when told (`--test-clock`, tests).
 * Moving it backwards is refused: cycles already closed cannot reopen.
 */
export class ManualClock implements Clock {
  #now: Instant;
  constructor(start: Instant) {
    this.#now = start;
  }
  now(): Instant {
    return this.#now;
  }
  /** Returns false (and changes nothing) if `to` is before the current instant. */
  set(to: Instant): boolean {
    if (to < this.#now) return false;
    this.#now = to;
    return true;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}
