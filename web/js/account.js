// The account holder's view: the cycle at a glance, the burn-down with its forecast, where the
// money went, apps, usage credits, subscription limits and statements. Every figure is the API's;
// the page adds nothing of its own but exact sums for the chart and a forecast marked as one.
import { allEntries, api, enc } from './api.js';
import { burnSeries, forecast, forecastWindowMs, msPerDay } from './burn.js';
import { burnChart } from './chart.js';
import { entriesCsv } from './csv.js';
import { bar, h, relative, slug, time, toggle } from './dom.js';
import { formatApprox, formatUnits, normalizeUsdInput, parseUsd, toDollars, usd } from './money.js';

/**
 * @typedef {{ accountId: string, writable: boolean, now: () => number,
 *   notify: (message: string, kind?: 'ok' | 'error') => void, back: { href: string, label: string } | null }} AccountPage
 */

/**
 * Renders the account into `root` and keeps it current after every action.
 * @param {HTMLElement} root
 * @param {AccountPage} page
 */
export async function renderAccount(root, page) {
  const base = `/v1/accounts/${enc(page.accountId)}`;
  /** The cycle the lower half shows: null = the current one. */
  let selectedStart = null;
  let destroyChart = () => {};

  /**
   * Runs an action, says how it went, and re-renders from the API.
   * @param {() => Promise<string>} fn resolves with the message to announce
   */
  const act = async (fn) => {
    // Taken before the action runs: a switch disables itself while its request is out, which
    // moves the focus away; the re-rendered page gives it back to the same control.
    const focusedId = document.activeElement?.id || null;
    try {
      const message = await fn();
      await render(focusedId);
      page.notify(message, 'ok');
    } catch (error) {
      page.notify(error instanceof Error ? error.message : String(error), 'error');
    }
  };

  /** @param {string | null} [focusedId] the control to focus once drawn */
  async function render(focusedId = document.activeElement?.id || null) {
    const [view, { cycles }, current, plans] = await Promise.all([
      api('GET', base),
      api('GET', `${base}/cycles`),
      api('GET', `${base}/statements/current`),
      api('GET', '/v1/plans'),
    ]);
    const plan = plans.plans.find((/** @type {{ id: string }} */ p) => p.id === view.plan) ?? null;
    const nowMs = page.now();
    const cycleRoot = h('div', { class: 'cycle-detail' });
    destroyChart();
    root.replaceChildren(
      header(view, plan, page, nowMs),
      h(
        'div',
        { class: 'grid' },
        creditCard(view, plan, page, nowMs, act, base),
        usageCreditsCard(view, page, act, base),
        limitsCard(view, nowMs),
      ),
      cyclePicker(
        view,
        cycles,
        nowMs,
        (start) => {
          selectedStart = start;
          void renderCycle(cycleRoot, view, current, start, nowMs);
        },
        selectedStart,
      ),
      cycleRoot,
      appsCard(view, current, page, act, base),
    );
    await renderCycle(cycleRoot, view, current, selectedStart, nowMs);
    if (focusedId) document.getElementById(focusedId)?.focus();
  }

  /**
   * The lower half, for one cycle: burn-down, breakdowns, statement and its CSV export.
   * @param {HTMLElement} into
   * @param {any} view
   * @param {any} currentStatement
   * @param {string | null} start
   * @param {number} nowMs
   */
  async function renderCycle(into, view, currentStatement, start, nowMs) {
    const isCurrent = start === null || start === view.cycle.start;
    const cycleStart = isCurrent ? view.cycle.start : start;
    into.setAttribute('aria-busy', 'true');
    try {
      const [statement, entries] = await Promise.all([
        isCurrent ? currentStatement : api('GET', `${base}/statements/${enc(cycleStart)}`),
        allEntries(page.accountId, cycleStart),
      ]);
      destroyChart();
      const chartBox = h('div', { class: 'chart', role: 'img' });
      const burn = burnCard(view, statement, entries, isCurrent, nowMs, chartBox);
      into.replaceChildren(
        burn.card,
        h('div', { class: 'grid' }, breakdownCard(statement), statementCard(view, statement, entries, page)),
      );
      // An unclaimed account that never paid usage credits has no line to draw.
      const flat = burn.chart.points.every((p) => p.credit === 0n && p.usageCredits === 0n);
      if (flat && view.sdk_credit.status !== 'claimed') chartBox.remove();
      else destroyChart = burnChart(chartBox, burn.chart);
    } catch (error) {
      into.replaceChildren(h('p', { class: 'error', text: `Could not load the cycle: ${messageOf(error)}` }));
    } finally {
      into.removeAttribute('aria-busy');
    }
  }

  root.replaceChildren(h('p', { class: 'loading', text: 'Loading…' }));
  await render();
}

/** @param {unknown} error */
function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}

/**
 * @param {any} view
 * @param {any} plan
 * @param {AccountPage} page
 * @param {number} nowMs
 */
function header(view, plan, page, nowMs) {
  const start = Date.parse(view.cycle.start);
  const end = Date.parse(view.cycle.end);
  return h(
    'div',
    { class: 'page-head' },
    page.back ? h('p', {}, h('a', { href: page.back.href, text: `← ${page.back.label}` })) : null,
    h('h1', { id: 'page-title', tabindex: '-1' }, view.id),
    h(
      'p',
      { class: 'muted' },
      [
        plan ? plan.label : (view.plan ?? (view.kind === 'api' ? 'API account (pay as you go)' : '')),
        view.org_id ? ` · member of ${view.org_id}` : '',
        view.status !== 'active' ? ` · ${view.status}` : '',
        view.pending_plan ? ` · becomes ${view.pending_plan} next cycle` : '',
      ].join(''),
      h('br'),
      'Cycle ',
      time(start, false),
      ' – ',
      time(end, false),
      ` (ends ${relative(end, nowMs)})`,
    ),
    page.writable
      ? null
      : h('p', {
          class: 'note',
          text: 'Read-only: this token may read this account but not change its settings.',
        }),
  );
}

/**
 * The cycle at a glance: granted, used, held, remaining; days left and the expiry; the claim.
 * @param {any} view
 * @param {any} plan
 * @param {AccountPage} page
 * @param {number} nowMs
 * @param {(fn: () => Promise<string>) => Promise<void>} act
 * @param {string} base
 */
function creditCard(view, plan, page, nowMs, act, base) {
  const credit = view.sdk_credit;
  const card = h(
    'section',
    { class: 'card', 'aria-labelledby': 'credit-title' },
    h('h2', { id: 'credit-title', text: 'Agent SDK credit' }),
  );
  if (credit.status === 'not_eligible') {
    card.append(
      h('p', {
        text:
          view.kind === 'api'
            ? 'API accounts pay as they go for every request; there is no credit to claim.'
            : 'This plan has no Agent SDK credit. Programmatic use is paid by usage credits when they are on.',
      }),
    );
    return card;
  }
  if (credit.status === 'unclaimed') {
    const amount = plan?.credit_usd ? usd(plan.credit_usd) : 'your plan’s credit';
    const button = h(
      'button',
      { type: 'button', id: 'claim', class: 'primary', disabled: !page.writable },
      `Claim ${amount} credit`,
    );
    button.addEventListener('click', () =>
      act(async () => {
        button.setAttribute('disabled', '');
        const answer = await api('POST', `${base}/claim`);
        return answer.replayed
          ? 'Already claimed.'
          : `Claimed: the credit is yours for this cycle and every cycle after.`;
      }),
    );
    card.append(
      h('p', {
        class: 'lead',
        text: 'Not claimed yet: you have no Agent SDK credit, and programmatic requests are refused.',
      }),
      h(
        'p',
        { id: 'claim-explained' },
        `Claiming grants ${amount} for this cycle at once, and a fresh ${amount} at the start of every cycle after. ` +
          'You claim once, for this account only: the credit is never shared with or moved to anyone else, your org included. ' +
          'Programmatic use (the Agent SDK, claude -p, GitHub Actions, third-party apps) draws on it first, before any usage credits. ' +
          'What is left when a cycle closes expires; it does not roll over.',
      ),
      button,
    );
    button.setAttribute('aria-describedby', 'claim-explained');
    return card;
  }
  const granted = parseUsd(credit.granted_usd);
  const used = parseUsd(credit.used_usd);
  const held = parseUsd(credit.held_usd);
  const remaining = parseUsd(credit.remaining_usd);
  const part = (/** @type {bigint} */ units) => (granted > 0n ? toDollars(units) / toDollars(granted) : 0);
  const gauge = h(
    'div',
    {
      class: 'gauge',
      role: 'img',
      'aria-label': `Used ${formatUnits(used)}, held ${formatUnits(held)}, remaining ${formatUnits(remaining)} of ${formatUnits(granted)} granted`,
    },
    segment(part(used), 'used'),
    segment(part(held), 'held'),
    segment(part(remaining), 'remaining'),
  );
  const endMs = Date.parse(view.cycle.end);
  const daysLeft = Math.max(0, Math.floor((endMs - nowMs) / msPerDay));
  // Element.append would print a null child as "null": the optional lines are filtered out.
  const lines = [
    h(
      'p',
      { class: 'big' },
      h('span', { id: 'credit-remaining' }, formatUnits(remaining)),
      h('span', { class: 'big-sub muted', text: `left of ${formatUnits(granted)} this cycle` }),
    ),
    gauge,
    h(
      'dl',
      { class: 'figures legend' },
      figure('Granted', formatUnits(granted), 'granted'),
      figure('Used', formatUnits(used), 'used'),
      figure('Held', formatUnits(held), 'held'),
      figure('Remaining', formatUnits(remaining), 'remaining'),
    ),
    h(
      'p',
      { id: 'days-left' },
      h('strong', { text: daysLeft === 1 ? '1 day left' : `${daysLeft} days left` }),
      ' in this cycle (ends ',
      time(endMs),
      '). Unused credit expires ',
      time(credit.expires_at),
      ' and does not roll over.',
    ),
    credit.exhausted_at ? h('p', { class: 'warn' }, 'Ran out ', time(credit.exhausted_at), '.') : null,
  ];
  card.append(...lines.filter((line) => line !== null));
  return card;
}

/** @param {number} fraction @param {string} kind */
function segment(fraction, kind) {
  const el = h('span', { class: `segment ${kind}` });
  el.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  return el;
}

/** @param {string} label @param {string | Node} value @param {string} [key] */
function figure(label, value, key) {
  return h('div', { class: key ? `figure ${key}` : 'figure' }, h('dt', { text: label }), h('dd', {}, value));
}

/**
 * Usage credits: the switch, the monthly limit, the spend so far.
 * @param {any} view
 * @param {AccountPage} page
 * @param {(fn: () => Promise<string>) => Promise<void>} act
 * @param {string} base
 */
function usageCreditsCard(view, page, act, base) {
  const uc = view.usage_credits;
  const card = h(
    'section',
    { class: 'card', 'aria-labelledby': 'uc-title' },
    h('h2', { id: 'uc-title', text: 'Usage credits' }),
  );
  if (view.kind === 'api') {
    card.append(h('p', { text: 'API accounts pay as they go; usage credits do not apply.' }));
    return card;
  }
  card.append(
    toggle({
      id: 'uc-enabled',
      label: uc.enabled
        ? 'On: pay as you go when the credit is gone'
        : 'Off: requests are refused when the credit is gone',
      checked: uc.enabled,
      disabled: !page.writable,
      onchange: (checked, input) =>
        act(async () => {
          input.disabled = true;
          await api('PUT', `${base}/usage-credits`, { enabled: checked });
          return `Usage credits turned ${checked ? 'on' : 'off'}.`;
        }),
    }),
    h(
      'dl',
      { class: 'figures' },
      figure('Spent this cycle', h('span', { id: 'uc-spent' }, usd(uc.spent_usd))),
      figure('Held', usd(uc.held_usd)),
      figure('Your monthly limit', usd(uc.monthly_limit_usd, 'none')),
      uc.member_limit_usd !== null ? figure('Limit set by your org', usd(uc.member_limit_usd)) : null,
    ),
  );
  if (page.writable) {
    const input = /** @type {HTMLInputElement} */ (
      h('input', {
        id: 'uc-limit',
        inputmode: 'decimal',
        autocomplete: 'off',
        placeholder: 'no limit',
        value: uc.monthly_limit_usd ?? '',
        'aria-describedby': 'uc-limit-help',
      })
    );
    const form = h(
      'form',
      { class: 'inline-form' },
      h('label', { for: 'uc-limit', text: 'Monthly limit ($)' }),
      input,
      h('button', { type: 'submit', id: 'uc-limit-save', text: 'Save limit' }),
      h('p', { id: 'uc-limit-help', class: 'help', text: 'Leave empty for no limit.' }),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      act(async () => {
        const limit = normalizeUsdInput(input.value);
        await api('PUT', `${base}/usage-credits`, { enabled: uc.enabled, monthly_limit_usd: limit });
        return limit === null ? 'Monthly limit removed.' : `Monthly limit set to ${usd(limit)}.`;
      });
    });
    card.append(form);
  }
  card.append(
    h('p', {
      class: 'help',
      text:
        'Pay-as-you-go at API rates. They pay for programmatic use once the credit is gone, and for interactive use beyond your subscription limits.' +
        (view.org_id
          ? ' Your org’s switch, its monthly limit and your seat’s limit apply too: the lowest wins.'
          : ''),
    }),
  );
  return card;
}

/**
 * The 5-hour and weekly windows (R10).
 * @param {any} view
 * @param {number} nowMs
 */
function limitsCard(view, nowMs) {
  const card = h(
    'section',
    { class: 'card', 'aria-labelledby': 'limits-title' },
    h('h2', { id: 'limits-title', text: 'Subscription limits' }),
  );
  const limits = view.subscription_limits;
  if (!limits) {
    card.append(h('p', { text: 'No subscription limits: this account pays as it goes.' }));
    return card;
  }
  for (const [key, label] of [
    ['session', '5-hour session'],
    ['weekly', 'Weekly'],
  ]) {
    const w = limits[key];
    const id = `limit-${key}`;
    const used = parseUsd(w.used_usd);
    const limit = parseUsd(w.limit_usd);
    card.append(
      h(
        'div',
        { class: 'limit' },
        h('label', { for: id }, h('strong', { text: label })),
        h('meter', {
          id,
          min: '0',
          max: String(toDollars(limit)),
          value: String(toDollars(used)),
          low: String(toDollars(limit) * 0.75),
          high: String(toDollars(limit) * 0.9),
          optimum: '0',
        }),
        h(
          'p',
          { class: 'muted' },
          `${formatUnits(used)} of ${formatUnits(limit)} used · `,
          w.resets_at
            ? h('span', {}, 'resets ', time(w.resets_at), ` (${relative(Date.parse(w.resets_at), nowMs)})`)
            : 'no window open',
        ),
      ),
    );
  }
  card.append(
    h('p', {
      class: 'help',
      text: 'Interactive use (Claude apps, Claude Code in a terminal or an editor) counts here, in API-rate dollars. Beyond a limit, usage credits pay if they are on.',
    }),
  );
  return card;
}

/**
 * The cycle picker: every cycle the account has figures for, newest first.
 * @param {any} view
 * @param {{ start: string, end: string, closed: boolean }[]} cycles
 * @param {number} _nowMs
 * @param {(start: string) => void} onpick
 * @param {string | null} selected
 */
function cyclePicker(view, cycles, _nowMs, onpick, selected) {
  const known = cycles.some((c) => c.start === view.cycle.start);
  const list = known
    ? [...cycles]
    : [...cycles, { start: view.cycle.start, end: view.cycle.end, closed: false }];
  list.sort((a, b) => Date.parse(b.start) - Date.parse(a.start));
  const select = /** @type {HTMLSelectElement} */ (h('select', { id: 'cycle' }));
  for (const cycle of list) {
    const current = cycle.start === view.cycle.start;
    const label = `${new Date(cycle.start).toLocaleDateString(undefined, { month: 'short', day: 'numeric', year: 'numeric' })} – ${new Date(cycle.end).toLocaleDateString(undefined, { month: 'short', day: 'numeric' })}${current ? ' (current)' : cycle.closed ? ' (closed)' : ''}`;
    select.append(
      h('option', { value: cycle.start, selected: (selected ?? view.cycle.start) === cycle.start }, label),
    );
  }
  select.addEventListener('change', () => onpick(select.value));
  return h('div', { class: 'toolbar' }, h('label', { for: 'cycle', text: 'Cycle' }), select);
}

/**
 * The burn-down card: the chart's box, the forecast in words.
 * @param {any} view
 * @param {any} statement
 * @param {any[]} entries
 * @param {boolean} isCurrent
 * @param {number} nowMs
 * @param {HTMLElement} chartBox
 */
function burnCard(view, statement, entries, isCurrent, nowMs, chartBox) {
  const startMs = Date.parse(statement.cycle.start);
  const endMs = Date.parse(statement.cycle.end);
  const points = burnSeries(entries, startMs);
  const remainingUnits = isCurrent
    ? parseUsd(view.sdk_credit.remaining_usd)
    : parseUsd(statement.sdk_credit.remaining_usd);
  const projection =
    isCurrent && view.sdk_credit.status === 'claimed'
      ? forecast(entries, { nowMs, startMs, endMs, remainingUnits })
      : null;
  const summary = h('p', { id: 'forecast', class: 'forecast' });
  const windowText = (/** @type {number} */ fromMs) =>
    nowMs - fromMs >= forecastWindowMs - 1 ? 'the last 7 days’' : 'this cycle’s';
  if (!isCurrent) {
    const sc = statement.sdk_credit;
    summary.append(
      statement.closed ? 'Closed. ' : 'Not closed yet. ',
      `Granted ${usd(sc.granted_usd)}, used ${usd(sc.used_usd)}`,
      sc.exhausted_at ? h('span', {}, ' (ran out ', time(sc.exhausted_at), ')') : '',
      `; ${usd(sc.expired_usd)} expired unused at the close. Usage credits charged: ${usd(statement.usage_credits.charged_usd)}.`,
    );
  } else if (view.sdk_credit.status === 'not_eligible') {
    summary.append('This account has no Agent SDK credit: nothing to burn down.');
  } else if (view.sdk_credit.status !== 'claimed') {
    summary.append('No credit yet: nothing to burn down. Claim the credit to start.');
  } else if (projection?.status === 'runs_out') {
    const early = endMs - projection.runOutMs;
    summary.classList.add('warn');
    summary.append(
      `At ${windowText(projection.fromMs)} rate (${formatApprox(projection.ratePerDayUnits)} a day), the credit runs out `,
      h('strong', {}, time(projection.runOutMs)),
      ` — ${early >= msPerDay ? `${Math.floor(early / msPerDay)} days` : 'hours'} before the cycle ends.`,
      view.usage_credits.enabled
        ? ' Usage credits pay after that.'
        : ' With usage credits off, programmatic requests are refused after that.',
    );
  } else if (projection?.status === 'lasts') {
    summary.append(
      `At ${windowText(projection.fromMs)} rate (${formatApprox(projection.ratePerDayUnits)} a day), the credit lasts the cycle: ${formatApprox(projection.leftAtEndUnits)} will be left, and expires `,
      time(view.sdk_credit.expires_at),
      '.',
    );
  } else if (projection?.status === 'exhausted') {
    summary.classList.add('warn');
    summary.append(
      'The credit is used up',
      view.sdk_credit.exhausted_at ? h('span', {}, ' (since ', time(view.sdk_credit.exhausted_at), ')') : '',
      view.usage_credits.enabled
        ? '. Usage credits pay for programmatic use until the next cycle.'
        : '. Programmatic requests are refused until the next cycle, unless you turn usage credits on.',
    );
  } else if (projection?.status === 'idle') {
    summary.append('No programmatic use lately: no forecast.');
  } else {
    summary.append('Too early in the cycle for a forecast.');
  }
  chartBox.setAttribute(
    'aria-label',
    `Burn-down chart of the cycle from ${new Date(startMs).toDateString()} to ${new Date(endMs).toDateString()}: credit left and usage credits spent over time${projection && (projection.status === 'runs_out' || projection.status === 'lasts') ? ', with a forecast line' : ''}. ${summary.textContent}`,
  );
  const card = h(
    'section',
    { class: 'card wide', 'aria-labelledby': 'burn-title' },
    h('h2', { id: 'burn-title', text: isCurrent ? 'Burn-down: this cycle' : 'Burn-down: a past cycle' }),
    summary,
    chartBox,
  );
  return {
    card,
    chart: { points, startMs, endMs, nowMs: isCurrent ? nowMs : null, forecast: projection, remainingUnits },
  };
}

/**
 * Cost by surface, app and model (R17), each sorted by cost.
 * @param {any} statement
 */
function breakdownCard(statement) {
  const card = h(
    'section',
    { class: 'card', 'aria-labelledby': 'where-title' },
    h('h2', { id: 'where-title', text: 'Where it went' }),
  );
  for (const [key, title] of [
    ['by_surface', 'By surface'],
    ['by_app', 'By third-party app'],
    ['by_model', 'By model'],
  ]) {
    const name = key.slice(3);
    /** @type {{ cost_usd: string }[]} */
    const rows = [...statement[key]].sort((a, b) => {
      const x = parseUsd(a.cost_usd);
      const y = parseUsd(b.cost_usd);
      return x > y ? -1 : x < y ? 1 : 0;
    });
    const max = rows.length > 0 ? toDollars(parseUsd(rows[0].cost_usd)) : 0;
    card.append(h('h3', { text: title }));
    if (rows.length === 0) {
      card.append(
        h('p', { class: 'muted', text: key === 'by_app' ? 'No third-party app usage.' : 'No usage.' }),
      );
      continue;
    }
    card.append(
      h(
        'ul',
        { class: 'breakdown', id: `breakdown-${name}` },
        rows.map((/** @type {any} */ row) =>
          h(
            'li',
            {},
            h('span', { class: 'name', text: row[name] }),
            h('span', { class: 'amount', text: usd(row.cost_usd) }),
            bar(max > 0 ? toDollars(parseUsd(row.cost_usd)) / max : 0),
          ),
        ),
      ),
    );
  }
  card.append(h('p', { class: 'help', text: 'API-rate cost of the usage, whichever source paid for it.' }));
  return card;
}

/**
 * The cycle's statement (R17) and the CSV export of its entries.
 * @param {any} view
 * @param {any} statement
 * @param {any[]} entries
 * @param {AccountPage} page
 */
function statementCard(view, statement, entries, page) {
  const sc = statement.sdk_credit;
  const card = h(
    'section',
    { class: 'card', 'aria-labelledby': 'statement-title' },
    h('h2', { id: 'statement-title', text: 'Statement' }),
    h(
      'p',
      { class: 'muted' },
      time(statement.cycle.start, false),
      ' – ',
      time(statement.cycle.end, false),
      statement.closed ? ' · closed' : ' · open',
    ),
    h(
      'dl',
      { class: 'figures statement' },
      figure('Credit granted', usd(sc.granted_usd)),
      figure('Credit used', usd(sc.used_usd)),
      figure('Credit adjusted', usd(sc.adjusted_usd)),
      figure('Credit held', usd(sc.held_usd)),
      figure('Credit expired', usd(sc.expired_usd)),
      figure('Credit remaining', usd(sc.remaining_usd)),
      figure('Usage credits charged', usd(statement.usage_credits.charged_usd)),
      figure('Usage credits billed (to the cent)', usd(statement.usage_credits.billed_usd)),
      figure('Within subscription limits', usd(statement.subscription_usd)),
      statement.pay_as_you_go_usd !== '0' ? figure('Pay as you go', usd(statement.pay_as_you_go_usd)) : null,
      figure('Written off', usd(statement.written_off_usd)),
      figure('Adjustments', usd(statement.adjustments_usd)),
    ),
  );
  const download = h('button', {
    type: 'button',
    id: 'csv',
    text: `Download ${entries.length} entries (CSV)`,
  });
  download.addEventListener('click', () => {
    const blob = new Blob([entriesCsv(entries)], { type: 'text/csv;charset=utf-8' });
    const url = URL.createObjectURL(blob);
    const link = h('a', {
      href: url,
      download: `creditpool-${slug(view.id)}-${statement.cycle.start.slice(0, 10)}.csv`,
    });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    page.notify(`Downloaded ${entries.length} entries.`, 'ok');
  });
  card.append(download);
  return card;
}

/**
 * Third-party apps (R16): spend this cycle, cap per cycle, block switch; and a form for an app not
 * seen yet.
 * @param {any} view
 * @param {any} current the current cycle's statement
 * @param {AccountPage} page
 * @param {(fn: () => Promise<string>) => Promise<void>} act
 * @param {string} base
 */
function appsCard(view, current, page, act, base) {
  /** @type {Map<string, { spent: string | null, cap: string | null, blocked: boolean }>} */
  const apps = new Map();
  for (const row of current.by_app) apps.set(row.app, { spent: row.cost_usd, cap: null, blocked: false });
  for (const policy of view.apps) {
    const row = apps.get(policy.app) ?? { spent: null, cap: null, blocked: false };
    apps.set(policy.app, { ...row, cap: policy.cycle_cap_usd, blocked: policy.blocked });
  }
  const names = [...apps.keys()].sort();
  const card = h(
    'section',
    { class: 'card wide', 'aria-labelledby': 'apps-title' },
    h('h2', { id: 'apps-title', text: 'Third-party apps' }),
    h('p', {
      class: 'help',
      text: 'Apps that use your credit through the Agent SDK. Cap what an app may spend per cycle, or block it.',
    }),
  );
  /** @param {string} app @param {object} body */
  const put = (app, body) => api('PUT', `${base}/apps/${enc(app)}`, body);
  if (names.length > 0) {
    const table = h(
      'table',
      { class: 'apps' },
      h('caption', { class: 'visually-hidden', text: 'Third-party apps this cycle' }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col', text: 'App' }),
          h('th', { scope: 'col', class: 'num', text: 'Spent this cycle' }),
          h('th', { scope: 'col', text: 'Cap per cycle' }),
          h('th', { scope: 'col', text: 'Blocked' }),
        ),
      ),
    );
    const body = h('tbody');
    names.forEach((name, i) => {
      const app = /** @type {{ spent: string | null, cap: string | null, blocked: boolean }} */ (
        apps.get(name)
      );
      const capId = `app-${i}-cap`;
      let capCell;
      if (page.writable) {
        const input = /** @type {HTMLInputElement} */ (
          h('input', {
            id: capId,
            inputmode: 'decimal',
            autocomplete: 'off',
            placeholder: 'no cap',
            value: app.cap ?? '',
            class: 'money-input',
          })
        );
        const form = h(
          'form',
          { class: 'inline-form compact' },
          h('label', { for: capId, class: 'visually-hidden', text: `Cap for ${name} ($)` }),
          input,
          h('button', { type: 'submit', id: `app-${i}-save`, text: 'Save' }),
        );
        form.addEventListener('submit', (event) => {
          event.preventDefault();
          act(async () => {
            const cap = normalizeUsdInput(input.value);
            await put(name, { cycle_cap_usd: cap });
            return cap === null ? `${name}: no cap.` : `${name}: capped at ${usd(cap)} per cycle.`;
          });
        });
        capCell = form;
      } else {
        capCell = usd(app.cap, 'no cap');
      }
      body.append(
        h(
          'tr',
          {},
          h('th', { scope: 'row', text: name }),
          h('td', { class: 'num', 'data-label': 'Spent this cycle', text: usd(app.spent ?? '0') }),
          h('td', { class: 'cap', 'data-label': 'Cap per cycle' }, capCell),
          h(
            'td',
            { class: 'blocked' },
            toggle({
              id: `app-${i}-blocked`,
              label: app.blocked ? 'Blocked' : 'Allowed',
              checked: app.blocked,
              disabled: !page.writable,
              onchange: (checked, input) =>
                act(async () => {
                  input.disabled = true;
                  await put(name, { blocked: checked });
                  return `${name} ${checked ? 'blocked' : 'allowed again'}.`;
                }),
            }),
          ),
        ),
      );
      // The switch's visible text is its state; the app's name makes the label unique.
      body.lastElementChild
        ?.querySelector('input[role="switch"]')
        ?.setAttribute('aria-label', `Block ${name}`);
    });
    table.append(body);
    card.append(
      h(
        'div',
        { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'Third-party apps' },
        table,
      ),
    );
  } else {
    card.append(h('p', { class: 'muted', text: 'No third-party app has used this account this cycle.' }));
  }
  if (page.writable) {
    const input = /** @type {HTMLInputElement} */ (
      h('input', { id: 'new-app', autocomplete: 'off', maxlength: '128', placeholder: 'app name' })
    );
    const form = h(
      'form',
      { class: 'inline-form' },
      h('label', { for: 'new-app', text: 'Another app' }),
      input,
      h('button', { type: 'submit', id: 'new-app-block', text: 'Block it' }),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const name = input.value.trim();
      if (!name) return;
      act(async () => {
        await put(name, { blocked: true });
        return `${name} blocked.`;
      });
    });
    card.append(form);
  }
  return card;
}
