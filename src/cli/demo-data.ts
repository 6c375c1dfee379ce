/**
 * The demo ledger (`creditpool demo`, the dashboard's browser tests): an example Team org and an
 * individual subscriber with a realistic month and a half of synthetic usage, booked through the
 * app's use cases exactly as a gateway would drive them. A `ManualClock` walks from the start of
 * the previous billing cycle to `end`; every request is first authorized (no hold) and recorded
 * only when allowed, so an account that runs out is refused from then on instead of piling up
 * write-offs, and app caps and subscription limits bite where they would.
 *
 * Deterministic: one seeded generator, every instant relative to `end`. Run it at the real time
 * and the dashboard shows it live; run it at a fixed instant and the figures are the same on
 * every run (the browser tests do).
 */
import {
  type AppContext,
  authorize,
  claim,
  createAccount,
  createOrg,
  createToken,
  type ManualClock,
  recordUsage,
  setAppPolicy,
  setOrgUsageCredits,
  setUsageCredits,
} from '../app/index.ts';
import { cycleStart } from '../core/cycles.ts';
import { formatInstant, type Instant, msPerDay, msPerHour } from '../core/time.ts';

export const demoOrgId = 'acme';

/** Two third-party apps (R16): records that name one are programmatic, on the holder's credit. */
export const demoApps = ['prbot', 'docsmith'] as const;

interface Mix {
  /** Mean requests on a weekday; weekends see a third. */
  perDay: number;
  /** Multiplies token counts (and so the cost) of every request. */
  size: number;
  surfaces: readonly string[];
  models: readonly string[];
}

interface Profile {
  id: string;
  plan: string;
  org: boolean;
  /** Hours after the account's creation; null = never claims. */
  claimAfterHours: number | null;
  usageCredits: { enabled: boolean; monthlyLimit: string | null } | null;
  programmatic: Mix;
  interactive: Mix;
  /** Share of programmatic requests made by each third-party app. */
  apps: Partial<Record<(typeof demoApps)[number], number>>;
  /** From this many days before `end`, programmatic use is scaled by `factor` (a busy stretch). */
  surge?: { daysBeforeEnd: number; factor: number };
  /** Days before `end` the individual account's billing anchor falls (org members take the org's). */
  anchorDaysBeforeEnd?: number;
  role: string;
}

const opus = 'claude-opus-5-5';
const sonnet = 'claude-sonnet-5-5';
const haiku = 'claude-haiku-4-5';

/** Who is in the demo and how each works. The figures were tuned by looking at the dashboard. */
export const demoProfiles: readonly Profile[] = [
  {
    id: 'alice@acme.example',
    plan: 'team_premium',
    org: true,
    claimAfterHours: 2,
    usageCredits: { enabled: true, monthlyLimit: '30' },
    programmatic: {
      perDay: 18,
      size: 1.5,
      surfaces: ['sdk-ts', 'sdk-cli', 'claude-code-github-action'],
      models: [opus, opus, sonnet],
    },
    interactive: {
      perDay: 14,
      size: 6,
      surfaces: ['cli', 'claude-vscode', 'claude-ai-web'],
      models: [opus, sonnet],
    },
    apps: { prbot: 0.25, docsmith: 0.15 },
    surge: { daysBeforeEnd: 8, factor: 1.6 },
    role: 'account holder: third-party apps, usage credits on, credit projected to run out before the cycle ends',
  },
  {
    id: 'bob@acme.example',
    plan: 'team_standard',
    org: true,
    claimAfterHours: 5,
    usageCredits: { enabled: false, monthlyLimit: null },
    programmatic: { perDay: 10, size: 1.6, surfaces: ['sdk-py', 'sdk-cli'], models: [opus, sonnet] },
    interactive: { perDay: 8, size: 4, surfaces: ['cli', 'claude-desktop'], models: [sonnet] },
    apps: {},
    role: 'ran out of credit mid-cycle; usage credits off, so programmatic requests are refused',
  },
  {
    id: 'carol@acme.example',
    plan: 'team_standard',
    org: true,
    claimAfterHours: null,
    usageCredits: null,
    programmatic: { perDay: 0, size: 1, surfaces: [], models: [] },
    interactive: {
      perDay: 10,
      size: 4,
      surfaces: ['claude-ai-web', 'claude-vscode'],
      models: [sonnet, haiku],
    },
    apps: {},
    role: 'has not claimed: the dashboard offers the claim',
  },
  {
    id: 'dave@acme.example',
    plan: 'team_premium',
    org: true,
    claimAfterHours: 30,
    usageCredits: { enabled: true, monthlyLimit: null },
    programmatic: {
      perDay: 7,
      size: 0.9,
      surfaces: ['sdk-ts', 'claude-code-github-action'],
      models: [sonnet, haiku],
    },
    interactive: { perDay: 12, size: 4, surfaces: ['cli', 'claude-vscode'], models: [opus, sonnet] },
    apps: { prbot: 0.3 },
    role: 'light programmatic use: most of the credit expires unused',
  },
  {
    id: 'erin@acme.example',
    plan: 'team_standard',
    org: true,
    claimAfterHours: 3,
    usageCredits: { enabled: true, monthlyLimit: null },
    programmatic: { perDay: 9, size: 1.5, surfaces: ['sdk-ts', 'sdk-cli'], models: [opus, sonnet] },
    interactive: { perDay: 6, size: 3, surfaces: ['claude-vscode'], models: [sonnet] },
    apps: { docsmith: 0.2 },
    role: 'ran out mid-cycle with usage credits on: they pay, up to the seat-tier limit',
  },
  {
    id: 'sam@example.com',
    plan: 'pro',
    org: false,
    claimAfterHours: 1,
    usageCredits: { enabled: true, monthlyLimit: '15' },
    programmatic: { perDay: 7, size: 1.6, surfaces: ['sdk-py', 'sdk-cli'], models: [opus, sonnet] },
    interactive: { perDay: 6, size: 4, surfaces: ['claude-desktop', 'claude-ai-mobile'], models: [sonnet] },
    apps: { docsmith: 0.5 },
    anchorDaysBeforeEnd: 12,
    role: 'individual Pro subscriber: the credit runs out, usage credits pay the rest',
  },
];

export interface DemoResult {
  orgId: string;
  /** Where the demo starts (the previous cycle's start) and ends. */
  start: string;
  end: string;
  accounts: { id: string; plan: string; role: string; token: string }[];
  orgAdminToken: string;
  requests: { recorded: number; refused: number; byReason: Record<string, number> };
}

/** Mulberry32: small, seeded, good enough to scatter synthetic requests. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The first midnight-to-9:00 UTC anchor `days` before `end`, one month earlier (the previous cycle). */
function anchorBefore(end: Instant, days: number): Instant {
  const day = new Date(end - days * msPerDay);
  // Day 28 at most, so the month arithmetic below never clamps (R4 would, correctly, but the demo
  // wants exactly one previous cycle).
  return Date.UTC(day.getUTCFullYear(), day.getUTCMonth() - 1, Math.min(day.getUTCDate(), 28), 9);
}

interface DemoRequest {
  at: Instant;
  accountId: string;
  surface: string;
  app: string | null;
  model: string;
  usage: Record<string, number>;
}

function requestsOf(profile: Profile, from: Instant, end: Instant, random: () => number): DemoRequest[] {
  const out: DemoRequest[] = [];
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const firstDay = Math.floor(from / msPerDay) * msPerDay;
  for (let day = firstDay; day < end; day += msPerDay) {
    const weekday = new Date(day).getUTCDay();
    const weekend = weekday === 0 || weekday === 6 ? 1 / 3 : 1;
    for (const [kind, mix] of [
      ['programmatic', profile.programmatic],
      ['interactive', profile.interactive],
    ] as const) {
      if (mix.perDay === 0) continue;
      const surge =
        kind === 'programmatic' && profile.surge && day >= end - profile.surge.daysBeforeEnd * msPerDay;
      const mean = mix.perDay * weekend * (surge ? profile.surge!.factor : 1);
      const count = Math.round(mean * (0.6 + 0.8 * random()));
      for (let i = 0; i < count; i++) {
        // Working hours, 07:00 to 20:00 UTC, to the second.
        const at = day + 7 * msPerHour + Math.floor((random() * 13 * msPerHour) / 1000) * 1000;
        if (at < from || at >= end) continue;
        let app: string | null = null;
        if (kind === 'programmatic') {
          let roll = random();
          for (const [name, share] of Object.entries(profile.apps)) {
            if (roll < share) {
              app = name;
              break;
            }
            roll -= share;
          }
        }
        const size = mix.size * (0.4 + 1.2 * random());
        const agentic = kind === 'programmatic';
        out.push({
          at,
          accountId: profile.id,
          surface: app === null ? pick(mix.surfaces) : 'sdk-ts',
          app,
          model: pick(mix.models),
          usage: {
            input_tokens: Math.round((agentic ? 6000 : 2500) * size),
            cache_creation_input_tokens: Math.round((agentic ? 14_000 : 6000) * size),
            cache_read_input_tokens: Math.round((agentic ? 160_000 : 40_000) * size),
            output_tokens: Math.round((agentic ? 3000 : 900) * size),
          },
        });
      }
    }
  }
  return out;
}

/**
 * Books the demo into `ctx`'s store, moving `clock` (the clock `ctx` runs on) from the previous
 * cycle's start to `end`, and mints tokens for every account and for the org admin. The store must
 * not hold the demo already (`already_exists`).
 */
export async function loadDemo(ctx: AppContext, clock: ManualClock, end: Instant): Promise<DemoResult> {
  if (ctx.clock !== clock) throw new Error('loadDemo: clock must be the clock ctx runs on');
  const random = generator(20_260_615);
  // The org's current cycle began 19 days before `end`: about two thirds of the way through.
  const orgAnchor = anchorBefore(end, 19);
  const start = Math.min(
    orgAnchor,
    ...demoProfiles.map((p) => anchorBefore(end, p.anchorDaysBeforeEnd ?? 19)),
  );
  if (!clock.set(start)) throw new Error('loadDemo: the clock is already past the demo start');

  await createOrg(ctx, { id: demoOrgId, billing_anchor: formatInstant(orgAnchor) });
  await setOrgUsageCredits(ctx, demoOrgId, {
    enabled: true,
    monthly_limit_usd: '150',
    seat_tier_limits_usd: { team_standard: '15', team_premium: '40' },
  });

  interface Step {
    at: Instant;
    run(): Promise<void>;
  }
  const steps: Step[] = [];
  const byReason: Record<string, number> = {};
  let recorded = 0;
  let refused = 0;
  let seq = 0;
  for (const profile of demoProfiles) {
    const anchor = profile.org ? orgAnchor : anchorBefore(end, profile.anchorDaysBeforeEnd ?? 19);
    const createdAt = profile.org ? orgAnchor : anchor;
    steps.push({
      at: createdAt,
      run: async () => {
        await createAccount(ctx, {
          id: profile.id,
          kind: 'subscription',
          plan: profile.plan,
          ...(profile.org ? { org_id: demoOrgId } : { billing_anchor: formatInstant(anchor) }),
        });
        if (profile.usageCredits) {
          await setUsageCredits(ctx, profile.id, {
            enabled: profile.usageCredits.enabled,
            monthly_limit_usd: profile.usageCredits.monthlyLimit,
          });
        }
      },
    });
    if (profile.claimAfterHours !== null) {
      steps.push({
        at: createdAt + profile.claimAfterHours * msPerHour,
        run: async () => void (await claim(ctx, profile.id)),
      });
    }
    if (profile.apps.prbot !== undefined && profile.id.startsWith('alice')) {
      // Alice caps the review bot a week into the current cycle, after it ran up a bill.
      const at = cycleStart(anchor, 1) + 7 * msPerDay;
      steps.push({
        at,
        run: async () => void (await setAppPolicy(ctx, profile.id, 'prbot', { cycle_cap_usd: '12' })),
      });
    }
    for (const request of requestsOf(profile, createdAt + 1000, end, random)) {
      steps.push({
        at: request.at,
        run: async () => {
          const decision = await authorize(ctx, {
            account_id: request.accountId,
            surface: request.surface,
            app: request.app,
            model: request.model,
          });
          if (decision.decision === 'deny') {
            refused += 1;
            const reason = decision.reason ?? 'unknown';
            byReason[reason] = (byReason[reason] ?? 0) + 1;
            return;
          }
          seq += 1;
          const [result] = await recordUsage(ctx, [
            {
              id: `demo_${String(seq).padStart(6, '0')}`,
              account_id: request.accountId,
              occurred_at: formatInstant(request.at),
              surface: request.surface,
              app: request.app,
              model: request.model,
              usage: request.usage,
            },
          ]);
          if (result?.status !== 'recorded')
            throw new Error(`demo: record refused: ${JSON.stringify(result)}`);
          recorded += 1;
        },
      });
    }
  }
  // A stable sort keeps same-instant steps in the order above: create before claim.
  steps.sort((x, y) => x.at - y.at);
  for (const step of steps) {
    clock.set(step.at);
    await step.run();
  }
  clock.set(end);

  const accounts: DemoResult['accounts'] = [];
  for (const profile of demoProfiles) {
    const { token } = await createToken(ctx, { role: 'account', account_id: profile.id });
    accounts.push({ id: profile.id, plan: profile.plan, role: profile.role, token });
  }
  const { token: orgAdminToken } = await createToken(ctx, { role: 'org_admin', org_id: demoOrgId });
  return {
    orgId: demoOrgId,
    start: formatInstant(start),
    end: formatInstant(end),
    accounts,
    orgAdminToken,
    requests: { recorded, refused, byReason },
  };
}
