/**
 * The dashboard in a real browser (issue 7): Debian's Chromium driven by playwright-core, against
 * the real server (`buildServer`, listening on 127.0.0.1) over the demo ledger (`loadDemo`, at a
 * fixed instant on a `ManualClock`, so every figure and every screenshot is the same on every run).
 *
 * Flows: a refused token; an account holder signs in and sees the gauge, the chart and the forecast
 * (the figures checked against the API), turns usage credits off and on, sets the monthly limit,
 * caps an app and blocks another (the gateway is then refused), looks at a past cycle; a member
 * claims; the CSV export pages through every entry; an org admin sorts and searches the members and
 * opens one read-only. Every page is checked for console errors (a CSP violation is one) and for
 * inputs without a label.
 *
 * Screenshots go to test-output/screenshots/ (gitignored). `CREDITPOOL_UPDATE_DOCS=1` also copies
 * the account holder's to docs/dashboard.png, the README's picture.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { openSqliteStore } from '../../src/adapters/storage/sqlite/index.ts';
import {
  type AppContext,
  authorize,
  defaultCatalogues,
  getAccountView,
  listEntries,
  listOrgMembers,
  ManualClock,
  recordUsage,
} from '../../src/app/index.ts';
import type { Store } from '../../src/app/ports.ts';
import { type DemoResult, loadDemo } from '../../src/cli/demo-data.ts';
import { formatInstant, parseInstant } from '../../src/core/time.ts';
import { buildServer } from '../../src/http/server.ts';
import { toWire } from '../../src/http/wire.ts';

const chromiumPath = process.env.CREDITPOOL_CHROMIUM || '/usr/bin/chromium';
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** A Wednesday afternoon: sessions open, the org's cycle two thirds through. */
const demoEnd = '2026-11-25T15:30:00Z';
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const screenshots = join(repoRoot, 'test-output', 'screenshots');
/** Every wait in a flow: the page answers in milliseconds; a stuck one fails instead of hanging. */
const waitMs = 10_000;

interface Money {
  formatUnits(units: bigint): string;
  usd(text: string | null): string;
  parseUsd(text: string): bigint;
}
const money = (await import(new URL('../../web/js/money.js', import.meta.url).href)) as Money;

// biome-ignore lint/suspicious/noExplicitAny: API answers are checked field by field.
type Json = any;

describe('dashboard: in Chromium', () => {
  let store: Store;
  let ctx: AppContext;
  let app: FastifyInstance;
  let url: string;
  let demo: DemoResult;
  let context: BrowserContext;
  let userDataDir: string;
  const problems: string[] = [];

  const tokenOf = (prefix: string) => demo.accounts.find((a) => a.id.startsWith(prefix))!.token;
  const view = async (id: string): Promise<Json> => toWire(await getAccountView(ctx, id));

  before(async () => {
    if (!existsSync(chromiumPath)) {
      throw new Error(
        `Chromium is not installed at ${chromiumPath}. The browser tests need Debian's chromium ` +
          '(`apt-get install chromium`; .ci/run installs it), or CREDITPOOL_CHROMIUM=/path/to/chromium.',
      );
    }
    store = await openSqliteStore({ path: ':memory:' });
    const clock = new ManualClock(0);
    ctx = { store, clock, catalogues: defaultCatalogues };
    demo = await loadDemo(ctx, clock, parseInstant(demoEnd));
    // Sam makes 1,100 tiny SDK calls in the last hour: the CSV export must page past 1,000 entries.
    const records = Array.from({ length: 1100 }, (_, i) => ({
      id: `tiny_${i}`,
      account_id: 'sam@example.com',
      occurred_at: formatInstant(parseInstant(demoEnd) - 3_600_000 + i * 1000),
      surface: 'sdk-cli',
      model: 'claude-haiku-4-5',
      usage: { input_tokens: 10, output_tokens: 1 },
    }));
    for (const batch of [records.slice(0, 1000), records.slice(1000)]) {
      const results = await recordUsage(ctx, batch);
      assert.ok(results.every((r) => r.status === 'recorded'));
    }
    app = await buildServer({ ctx, testClock: clock, logger: false, processMetrics: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`;
    mkdirSync(screenshots, { recursive: true });
    userDataDir = mkdtempSync(join(tmpdir(), 'creditpool-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath,
      args: chromiumArgs,
      headless: true,
      viewport: { width: 1280, height: 900 },
      locale: 'en-US',
      timezoneId: 'UTC',
      reducedMotion: 'reduce',
      acceptDownloads: true,
    });
    context.setDefaultTimeout(waitMs);
  });

  after(async () => {
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await app?.close();
    await store?.close();
    assert.deepEqual(problems, [], 'console errors or page errors (a CSP violation is one)');
  });

  /** A new tab (its own session storage), signed in with `token`, watched for errors. */
  async function signIn(token: string, viewport?: { width: number; height: number }): Promise<Page> {
    const page = await context.newPage();
    if (viewport) await page.setViewportSize(viewport);
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
    await page.goto(url);
    await page.getByLabel('Token').fill(token);
    // The keyboard path: Enter in the field submits the form.
    await page.getByLabel('Token').press('Enter');
    await page.locator('#page-title').waitFor();
    return page;
  }

  async function expectStatus(page: Page, text: string | RegExp): Promise<void> {
    await page.locator('#status').filter({ hasText: text }).waitFor();
  }

  /**
   * Every input, select and switch can be named by a screen reader. (Browser-side code is given
   * as text: the project's TypeScript has no DOM types.)
   */
  async function assertLabelled(page: Page): Promise<void> {
    const unlabelled = await page.evaluate<string[]>(`
      [...document.querySelectorAll('input, select')]
        .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
        .map((el) => el.id || el.outerHTML)`);
    assert.deepEqual(unlabelled, []);
  }

  it('a token the server does not know is refused, and nothing is shown', async () => {
    const page = await context.newPage();
    await page.goto(url);
    await page.getByLabel('Token').fill('cp_account_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That token was not accepted').waitFor();
    assert.equal(await page.locator('#view').innerHTML(), '');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await page.close();
  });

  it('an account holder sees the credit, the chart and the forecast, with the API’s exact figures', async () => {
    const page = await signIn(tokenOf('alice'));
    const api = await view('alice@acme.example');
    assert.equal(await page.locator('#page-title').textContent(), 'alice@acme.example');
    assert.equal(
      await page.locator('#credit-remaining').textContent(),
      money.usd(api.sdk_credit.remaining_usd),
    );
    const gauge = await page.getByRole('img', { name: /^Used \$/ }).getAttribute('aria-label');
    assert.equal(
      gauge,
      `Used ${money.usd(api.sdk_credit.used_usd)}, held ${money.usd(api.sdk_credit.held_usd)}, remaining ${money.usd(api.sdk_credit.remaining_usd)} of ${money.usd(api.sdk_credit.granted_usd)} granted`,
    );
    assert.match(String(await page.locator('#days-left').textContent()), /^10 days left in this cycle/);
    // The chart is drawn (uPlot's canvas), with the forecast line's series in the legend.
    await page.locator('.chart canvas').first().waitFor();
    assert.ok((await page.locator('.chart canvas').count()) >= 1);
    assert.ok(await page.locator('.u-legend').getByText('Forecast (recent rate)').isVisible());
    const forecast = String(await page.locator('#forecast').textContent());
    assert.match(
      forecast,
      /^At the last 7 days’ rate \(≈ \$\d+\.\d\d a day\), the credit runs out Dec \d+, .* before the cycle ends\./,
    );
    assert.match(String(await page.locator('.chart').getAttribute('aria-label')), /with a forecast line/);
    // Breakdowns: by surface, app and model, from the statement.
    assert.equal(await page.locator('#breakdown-app li').count(), 2);
    assert.ok((await page.locator('#breakdown-surface li').count()) >= 4);
    await assertLabelled(page);
    await page.screenshot({ path: join(screenshots, 'account.png'), fullPage: true });
    if (process.env.CREDITPOOL_UPDATE_DOCS === '1') {
      copyFileSync(join(screenshots, 'account.png'), join(repoRoot, 'docs', 'dashboard.png'));
    }
    await page.close();
  });

  it('turns usage credits off and on, and sets the monthly limit', async () => {
    const page = await signIn(tokenOf('alice'));
    const uc = page.getByRole('switch', { name: /pay as you go when the credit is gone/ });
    assert.equal(await uc.isChecked(), true);
    // A click, not uncheck(): the switch's name says its state, so after the change it has another.
    await uc.click();
    await expectStatus(page, 'Usage credits turned off.');
    assert.equal((await view('alice@acme.example')).usage_credits.enabled, false);
    assert.equal(await page.getByRole('switch', { name: /requests are refused/ }).isChecked(), false);
    // Keyboard: the switch keeps the focus after the page re-renders, and Space flips it.
    await page.keyboard.press('Space');
    await expectStatus(page, 'Usage credits turned on.');
    assert.equal((await view('alice@acme.example')).usage_credits.enabled, true);
    await page.getByLabel('Monthly limit ($)').fill('45.50');
    await page.getByRole('button', { name: 'Save limit' }).click();
    await expectStatus(page, 'Monthly limit set to $45.50.');
    assert.equal((await view('alice@acme.example')).usage_credits.monthly_limit_usd, '45.5');
    await page.getByLabel('Monthly limit ($)').fill('lots');
    await page.getByRole('button', { name: 'Save limit' }).click();
    await expectStatus(page, /enter an amount in dollars/);
    assert.equal((await view('alice@acme.example')).usage_credits.monthly_limit_usd, '45.5');
    await page.close();
  });

  it('caps one app and blocks another; the gateway is refused for the blocked one (R16)', async () => {
    const page = await signIn(tokenOf('alice'));
    await page.getByLabel('Cap for docsmith ($)').fill('20');
    await page.locator('tr', { hasText: 'docsmith' }).getByRole('button', { name: 'Save' }).click();
    await expectStatus(page, 'docsmith: capped at $20.00 per cycle.');
    await page.getByRole('switch', { name: 'Block prbot' }).check();
    await expectStatus(page, 'prbot blocked.');
    const apps = (await view('alice@acme.example')).apps;
    assert.deepEqual(apps, [
      { app: 'docsmith', cycle_cap_usd: '20', blocked: false },
      { app: 'prbot', cycle_cap_usd: '12', blocked: true },
    ]);
    const decision = await authorize(ctx, {
      account_id: 'alice@acme.example',
      surface: 'sdk-ts',
      app: 'prbot',
      model: 'claude-opus-5-5',
    });
    assert.deepEqual([decision.decision, decision.reason], ['deny', 'app_blocked']);
    assert.equal(await page.getByRole('switch', { name: 'Block prbot' }).isChecked(), true);
    await page.getByRole('switch', { name: 'Block prbot' }).uncheck();
    await expectStatus(page, 'prbot allowed again.');
    await page.close();
  });

  it('shows a past cycle: its burn-down, its closed statement', async () => {
    const page = await signIn(tokenOf('alice'));
    await page.getByLabel('Cycle', { exact: true }).selectOption({ index: 1 });
    await page.getByRole('heading', { name: 'Burn-down: a past cycle' }).waitFor();
    assert.match(
      String(await page.locator('#forecast').textContent()),
      /^Closed\. Granted \$100\.00, used \$100\.00 \(ran out Nov 5/,
    );
    await page.locator('.chart canvas').first().waitFor();
    assert.match(String(await page.locator('#statement-title + p').textContent()), /Oct 6 – Nov 6 · closed/);
    await page.screenshot({ path: join(screenshots, 'account-past-cycle.png'), fullPage: true });
    await page.close();
  });

  it('a member who has not claimed reads what claiming means, claims, and has the credit', async () => {
    const page = await signIn(tokenOf('carol'));
    const explained = String(await page.locator('#claim-explained').textContent());
    for (const part of [
      '$20.00 for this cycle',
      'You claim once, for this account only',
      'never shared',
      'first, before any usage credits',
      'does not roll over',
    ]) {
      assert.ok(explained.includes(part), part);
    }
    await page.screenshot({ path: join(screenshots, 'claim.png'), fullPage: true });
    await page.getByRole('button', { name: 'Claim $20.00 credit' }).click();
    await expectStatus(page, /^Claimed/);
    await page.locator('#credit-remaining').waitFor();
    assert.equal(await page.locator('#credit-remaining').textContent(), '$20.00');
    const api = await view('carol@acme.example');
    assert.equal(api.sdk_credit.status, 'claimed');
    assert.equal(api.sdk_credit.granted_usd, '20');
    await page.close();
  });

  it('exports every entry of a cycle as CSV, following the cursor past the first page', async () => {
    const page = await signIn(tokenOf('sam'));
    const cycleStart = (await view('sam@example.com')).cycle.start;
    let expected = 0;
    let cursor: string | null = null;
    do {
      const answer = await listEntries(ctx, 'sam@example.com', {
        cycleStart: parseInstant(cycleStart),
        limit: 1000,
        cursor,
      });
      expected += answer.entries.length;
      cursor = answer.next_cursor;
    } while (cursor);
    assert.ok(expected > 1000);
    const entryRequests: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/entries?')) entryRequests.push(r.url());
    });
    await page.reload();
    await page.locator('#csv').waitFor();
    assert.ok(entryRequests.length >= 2, `the page read ${entryRequests.length} pages`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#csv').click()]);
    assert.equal(download.suggestedFilename(), `creditpool-sam-example-com-${cycleStart.slice(0, 10)}.csv`);
    const csv = readFileSync(await download.path(), 'utf8')
      .trimEnd()
      .split('\r\n');
    assert.equal(csv[0], 'id,seq,at,kind,pool,amount_usd,ref,corrects,cycle_start,surface,app,model,note');
    assert.equal(csv.length - 1, expected);
    // The cycle's grant is its first entry, its amount exactly as the API sent it.
    assert.match(csv[1]!, /^\d+\.sdk_credit,\d+,2026-11-13T09:00:00Z,grant,sdk_credit,20,/);
    await page.close();
  });

  it('an org admin sorts and searches the members, sees the totals, opens a member read-only', async () => {
    const page = await signIn(demo.orgAdminToken);
    const members: Json[] = (toWire(await listOrgMembers(ctx, 'acme')) as Json[]).slice();
    const rows = () =>
      page.locator('#members tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-member')));
    assert.equal(await page.locator('#members tbody tr').count(), members.length);
    assert.deepEqual(await rows(), members.map((m) => m.id).sort());
    const byUsed = (a: Json, b: Json) => {
      const x = money.parseUsd(a.sdk_credit.used_usd);
      const y = money.parseUsd(b.sdk_credit.used_usd);
      return x === y ? a.id.localeCompare(b.id) : x > y ? -1 : 1;
    };
    await page.getByRole('button', { name: 'Credit used' }).click();
    assert.equal(await page.locator('th[data-key="used"]').getAttribute('aria-sort'), 'descending');
    assert.deepEqual(
      await rows(),
      [...members].sort(byUsed).map((m) => m.id),
    );
    // Keyboard: Enter on the focused header sorts the other way.
    await page.getByRole('button', { name: 'Credit used' }).press('Enter');
    assert.equal(await page.locator('th[data-key="used"]').getAttribute('aria-sort'), 'ascending');
    const ascending = await rows();
    assert.equal(ascending[ascending.length - 1], [...members].sort(byUsed)[0].id);
    await page.getByRole('button', { name: 'Last activity' }).click();
    assert.equal(await page.locator('th[data-key="activity"]').getAttribute('aria-sort'), 'ascending');
    await page.getByLabel('Search members').fill('standard');
    assert.deepEqual(
      (await rows()).sort(),
      members
        .filter((m) => m.plan === 'team_standard')
        .map((m) => m.id)
        .sort(),
    );
    assert.equal(await page.locator('#member-count').textContent(), `3 of ${members.length} members`);
    await page.getByLabel('Search members').fill('');
    // Totals are sums for display, and the page says that nothing moves credit (R9).
    const used = members.reduce((t, m) => t + money.parseUsd(m.sdk_credit.used_usd), 0n);
    assert.match(
      String(await page.locator('#org-totals').textContent()),
      new RegExp(money.formatUnits(used).replace('$', '\\$')),
    );
    assert.match(
      String(await page.locator('#no-pooling').textContent()),
      /sums for display only.*never pooled, shared or moved/,
    );
    assert.equal(await page.getByLabel('Team Standard seat').inputValue(), '15');
    await assertLabelled(page);
    await page.screenshot({ path: join(screenshots, 'org.png'), fullPage: true });
    await page.getByRole('link', { name: 'bob@acme.example' }).click();
    await page.locator('#page-title', { hasText: 'bob@acme.example' }).waitFor();
    await page.getByText('Read-only').waitFor();
    assert.equal(await page.getByRole('switch').first().isDisabled(), true);
    assert.equal(await page.locator('#uc-limit').count(), 0);
    await page.getByRole('link', { name: '← All members' }).click();
    await page.locator('#members').waitFor();
    await page.close();
  });

  it('an org admin sets the org limit and a seat-tier limit', async () => {
    const page = await signIn(demo.orgAdminToken);
    await page.getByLabel(/Org monthly limit/).fill('200');
    await page.getByLabel('Team Premium seat').fill('');
    await page.getByRole('button', { name: 'Save limits' }).click();
    await expectStatus(page, 'Org limits saved.');
    const org = (
      await app.inject({
        method: 'GET',
        url: '/v1/orgs/acme',
        headers: { authorization: `Bearer ${demo.orgAdminToken}` },
      })
    ).json();
    assert.deepEqual(org.usage_credits, {
      enabled: true,
      monthly_limit_usd: '200',
      seat_tier_limits_usd: { team_standard: '15' },
    });
    await page.close();
  });

  it('reads on a phone: nothing wider than the screen', async () => {
    const page = await signIn(tokenOf('alice'), { width: 390, height: 844 });
    await page.locator('.chart canvas').first().waitFor();
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    assert.ok(overflow <= 0, `${overflow}px wider than the screen`);
    await page.screenshot({ path: join(screenshots, 'account-phone.png'), fullPage: true });
    await page.locator('#burn-title').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(screenshots, 'account-phone-chart.png') });
    await page.close();
  });
});
