/**
 * One-paragraph summaries of fault runs, printed as test diagnostics (`node --test` shows them)
 * and copied into docs/reliability.md.
 */
import type { KillLoopResult } from './kill-loop.ts';

export function summarizeKillLoop(store: string, r: KillLoopResult): string {
  const c = r.workload.counts;
  const sent = Object.values(c.sent).reduce((s, n) => s + n, 0);
  const inFlight = r.cycles.map((x) => x.inFlightAtKill);
  const restart = r.cycles.map((x) => x.restartMs);
  const unackBooked = r.cycles.reduce((s, x) => s + x.check.unacknowledgedBooked, 0);
  return [
    `${store}: ${r.cycles.length} kill -9 cycles in ${(r.ms / 1000).toFixed(1)} s;`,
    `${sent} requests sent (${Object.entries(c.acknowledged)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')} acknowledged);`,
    `in flight at each kill ${Math.min(...inFlight)}–${Math.max(...inFlight)};`,
    `${c.noAnswer} requests without an answer, ${c.unavailable503} answered 503, all re-sent until acknowledged`,
    `(${c.resentAcknowledged} acknowledged on a re-send; of their records ${c.resentRecordsReplayed} replayed, i.e. committed before the kill but never answered, and ${c.resentRecordsRecorded} recorded fresh);`,
    `at the checks after restarts, ${unackBooked} unacknowledged records were found booked (once each);`,
    `restart ${Math.min(...restart)}–${Math.max(...restart)} ms;`,
    `final: ${r.final.acknowledgedRecords} acknowledged records each booked exactly once, ${r.final.holdsChecked} holds as acknowledged,`,
    `${r.final.postings} postings, verify ${r.final.verify.problems.length === 0 ? 'clean' : 'NOT clean'}, problems ${r.problems.length}, unexpected answers ${c.unexpected}, SIGTERM exit ${r.shutdown.code}.`,
  ].join(' ');
}
