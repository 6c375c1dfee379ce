// The org admin's view: every member's figures in a sortable, searchable table, the org's totals
// (sums for display, R9: nothing here moves credit between members) and the org's usage-credit
// policy: its switch, its monthly limit and the seat-tier limits.
import { api, enc } from './api.js';
import { h, relative, time, toggle } from './dom.js';
import { compareUsd, formatUnits, normalizeUsdInput, sumUsd, usd } from './money.js';

/**
 * @typedef {{ orgId: string, writable: boolean, now: () => number,
 *   notify: (message: string, kind?: 'ok' | 'error') => void }} OrgPage
 */

/** @type {{ key: string, label: string, numeric?: boolean, value: (m: any) => string | null, compare: (a: any, b: any) => number }[]} */
const columns = [
  { key: 'id', label: 'Member', value: (m) => m.id, compare: (a, b) => a.id.localeCompare(b.id) },
  {
    key: 'seat',
    label: 'Seat',
    value: (m) => m.plan,
    compare: (a, b) => String(a.plan).localeCompare(String(b.plan)),
  },
  {
    key: 'claim',
    label: 'Claim',
    value: (m) => m.sdk_credit.status,
    compare: (a, b) => a.sdk_credit.status.localeCompare(b.sdk_credit.status),
  },
  {
    key: 'used',
    label: 'Credit used',
    numeric: true,
    value: (m) => m.sdk_credit.used_usd,
    compare: (a, b) => compareUsd(a.sdk_credit.used_usd, b.sdk_credit.used_usd),
  },
  {
    key: 'remaining',
    label: 'Credit remaining',
    numeric: true,
    value: (m) => m.sdk_credit.remaining_usd,
    compare: (a, b) => compareUsd(a.sdk_credit.remaining_usd, b.sdk_credit.remaining_usd),
  },
  {
    key: 'usage-credits',
    label: 'Usage credits spent',
    numeric: true,
    value: (m) => m.usage_credits.spent_usd,
    compare: (a, b) => compareUsd(a.usage_credits.spent_usd, b.usage_credits.spent_usd),
  },
  {
    key: 'activity',
    label: 'Last activity',
    value: (m) => m.last_activity_at,
    // ISO 8601 UTC instants sort as text; never active sorts first.
    compare: (a, b) => String(a.last_activity_at ?? '').localeCompare(String(b.last_activity_at ?? '')),
  },
];

/**
 * @param {HTMLElement} root
 * @param {OrgPage} page
 */
export async function renderOrg(root, page) {
  const base = `/v1/orgs/${enc(page.orgId)}`;
  let sort = { key: 'id', direction: /** @type {'ascending' | 'descending'} */ ('ascending') };
  let query = '';

  /** @param {() => Promise<string>} fn */
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
    const [org, { members }, plans] = await Promise.all([
      api('GET', base),
      api('GET', `${base}/members`),
      api('GET', '/v1/plans'),
    ]);
    const labels = new Map(plans.plans.map((/** @type {any} */ p) => [p.id, p.label]));
    const seats = plans.plans.filter((/** @type {any} */ p) => p.seat);
    const nowMs = page.now();

    const tbody = h('tbody');
    const count = h('p', { id: 'member-count', class: 'muted', role: 'status' });
    const headRow = h('tr');
    const drawRows = () => {
      const needle = query.trim().toLowerCase();
      const column = columns.find((c) => c.key === sort.key) ?? columns[0];
      const sign = sort.direction === 'ascending' ? 1 : -1;
      const shown = members
        .filter((/** @type {any} */ m) =>
          needle === ''
            ? true
            : [m.id, m.plan, labels.get(m.plan), m.sdk_credit.status].some((v) =>
                String(v ?? '')
                  .toLowerCase()
                  .includes(needle),
              ),
        )
        .sort(
          (/** @type {any} */ a, /** @type {any} */ b) =>
            sign * column.compare(a, b) || a.id.localeCompare(b.id),
        );
      tbody.replaceChildren(...shown.map((/** @type {any} */ m) => memberRow(m, labels, nowMs)));
      count.textContent = `${shown.length} of ${members.length} members`;
      for (const th of headRow.children) {
        const key = th.getAttribute('data-key');
        if (key === sort.key) th.setAttribute('aria-sort', sort.direction);
        else th.removeAttribute('aria-sort');
      }
    };
    for (const column of columns) {
      const button = h(
        'button',
        { type: 'button', class: 'sort', id: `sort-${column.key}` },
        column.label,
        h('span', { class: 'sort-mark', 'aria-hidden': 'true' }),
      );
      button.addEventListener('click', () => {
        sort =
          sort.key === column.key
            ? { key: column.key, direction: sort.direction === 'ascending' ? 'descending' : 'ascending' }
            : { key: column.key, direction: column.numeric ? 'descending' : 'ascending' };
        drawRows();
      });
      headRow.append(
        h('th', { scope: 'col', 'data-key': column.key, class: column.numeric ? 'num' : '' }, button),
      );
    }
    const search = /** @type {HTMLInputElement} */ (
      h('input', {
        type: 'search',
        id: 'member-search',
        autocomplete: 'off',
        value: query,
        placeholder: 'name, seat or claim status',
      })
    );
    search.addEventListener('input', () => {
      query = search.value;
      drawRows();
    });

    // On a phone the members come before the policy form (CSS `order`); the reading order in the
    // markup stays the desktop one.
    const orgView = h('div', { class: 'org-view' });
    root.replaceChildren(orgView);
    orgView.append(
      h(
        'div',
        { class: 'page-head' },
        h('h1', { id: 'page-title', tabindex: '-1' }, `Org ${org.id}`),
        h('p', { class: 'muted' }, `${members.length} members · `, cycleText(members)),
      ),
      h('div', { class: 'grid start' }, totalsCard(org, members), policyCard(org, seats, page, act, base)),
      h(
        'section',
        { class: 'card wide members-card', 'aria-labelledby': 'members-title' },
        h('h2', { id: 'members-title', text: 'Members' }),
        h(
          'div',
          { class: 'inline-form' },
          h('label', { for: 'member-search', text: 'Search members' }),
          search,
        ),
        count,
        h(
          'div',
          { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-labelledby': 'members-title' },
          h(
            'table',
            { class: 'members', id: 'members' },
            h('caption', { class: 'visually-hidden', text: 'Members; the column buttons sort the table' }),
            h('thead', {}, headRow),
            tbody,
          ),
        ),
        h('p', {
          class: 'help',
          text: 'Credit used and remaining are this cycle’s; a member’s own page shows their burn-down and statements.',
        }),
      ),
    );
    drawRows();
    if (focusedId) document.getElementById(focusedId)?.focus();
  }

  root.replaceChildren(h('p', { class: 'loading', text: 'Loading…' }));
  await render();
}

/**
 * The members' current cycle (they share the org's anchor, R4).
 * @param {any[]} members
 */
function cycleText(members) {
  const cycle = members[0]?.cycle;
  if (!cycle) return 'no members yet';
  return h('span', {}, 'cycle ', time(cycle.start, false), ' – ', time(cycle.end, false));
}

/**
 * @param {any} m
 * @param {Map<string, string>} labels
 * @param {number} nowMs
 */
function memberRow(m, labels, nowMs) {
  const claim =
    { claimed: 'Claimed', unclaimed: 'Not claimed', not_eligible: 'Not eligible' }[
      /** @type {'claimed'} */ (m.sdk_credit.status)
    ] ?? m.sdk_credit.status;
  return h(
    'tr',
    { 'data-member': m.id },
    h('th', { scope: 'row' }, h('a', { href: `#/accounts/${enc(m.id)}`, text: m.id })),
    h('td', { text: labels.get(m.plan) ?? m.plan ?? '—' }),
    h('td', {}, h('span', { class: `badge ${m.sdk_credit.status}`, text: claim })),
    h('td', { class: 'num', text: usd(m.sdk_credit.used_usd) }),
    h('td', { class: 'num', text: usd(m.sdk_credit.remaining_usd) }),
    h('td', { class: 'num', text: usd(m.usage_credits.spent_usd) }),
    h(
      'td',
      { class: 'activity' },
      m.last_activity_at
        ? [
            time(m.last_activity_at),
            h('span', { class: 'muted', text: relative(Date.parse(m.last_activity_at), nowMs) }),
          ]
        : 'never',
    ),
  );
}

/**
 * @param {any} org
 * @param {any[]} members
 */
function totalsCard(org, members) {
  const claimed = members.filter((m) => m.sdk_credit.status === 'claimed').length;
  const ucSpent = sumUsd(members.map((m) => m.usage_credits.spent_usd));
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'totals-title' },
    h('h2', { id: 'totals-title', text: 'This cycle, all members' }),
    h(
      'dl',
      { class: 'figures', id: 'org-totals' },
      h(
        'div',
        { class: 'figure' },
        h('dt', { text: 'Members who claimed' }),
        h('dd', { text: `${claimed} of ${members.length}` }),
      ),
      h(
        'div',
        { class: 'figure' },
        h('dt', { text: 'Credit granted' }),
        h('dd', { text: formatUnits(sumUsd(members.map((m) => m.sdk_credit.granted_usd))) }),
      ),
      h(
        'div',
        { class: 'figure' },
        h('dt', { text: 'Credit used' }),
        h('dd', { text: formatUnits(sumUsd(members.map((m) => m.sdk_credit.used_usd))) }),
      ),
      h(
        'div',
        { class: 'figure' },
        h('dt', { text: 'Credit remaining' }),
        h('dd', { text: formatUnits(sumUsd(members.map((m) => m.sdk_credit.remaining_usd))) }),
      ),
      h(
        'div',
        { class: 'figure' },
        h('dt', { text: 'Usage credits spent' }),
        h('dd', {
          text: `${formatUnits(ucSpent)}${org.usage_credits.monthly_limit_usd !== null ? ` of ${usd(org.usage_credits.monthly_limit_usd)}` : ''}`,
        }),
      ),
    ),
    h(
      'p',
      { class: 'note', id: 'no-pooling' },
      'These totals are sums for display only. Each member’s credit is their own: it is never pooled, shared or moved between members, and nothing on this page can move it.',
    ),
  );
}

/**
 * The org's usage-credit policy (R7).
 * @param {any} org
 * @param {any[]} seats plans that are seats
 * @param {OrgPage} page
 * @param {(fn: () => Promise<string>) => Promise<void>} act
 * @param {string} base
 */
function policyCard(org, seats, page, act, base) {
  const uc = org.usage_credits;
  const card = h(
    'section',
    { class: 'card policy-card', 'aria-labelledby': 'org-uc-title' },
    h('h2', { id: 'org-uc-title', text: 'Usage credits for the org' }),
    toggle({
      id: 'org-uc-enabled',
      label: uc.enabled ? 'On: members may pay as they go' : 'Off: no member may use usage credits',
      checked: uc.enabled,
      disabled: !page.writable,
      onchange: (checked, input) =>
        act(async () => {
          input.disabled = true;
          await api('PUT', `${base}/usage-credits`, { enabled: checked });
          return `Usage credits turned ${checked ? 'on' : 'off'} for the org.`;
        }),
    }),
  );
  const limitInput = /** @type {HTMLInputElement} */ (
    h('input', {
      id: 'org-limit',
      inputmode: 'decimal',
      autocomplete: 'off',
      placeholder: 'no limit',
      value: uc.monthly_limit_usd ?? '',
      disabled: !page.writable,
    })
  );
  const seatInputs = seats.map((seat) => {
    const id = `seat-${seat.id}`;
    const input = /** @type {HTMLInputElement} */ (
      h('input', {
        id,
        inputmode: 'decimal',
        autocomplete: 'off',
        placeholder: 'no limit',
        value: uc.seat_tier_limits_usd[seat.id] ?? '',
        disabled: !page.writable,
      })
    );
    return {
      seat,
      input,
      row: h('div', { class: 'field' }, h('label', { for: id, text: seat.label }), input),
    };
  });
  const form = h(
    'form',
    { class: 'policy' },
    h(
      'div',
      { class: 'field' },
      h('label', {
        for: 'org-limit',
        text: 'Org monthly limit ($), shared by all members’ pay-as-you-go spend',
      }),
      limitInput,
    ),
    h(
      'fieldset',
      {},
      h('legend', { text: 'Per-member limit by seat ($ per cycle)' }),
      seatInputs.map((s) => s.row),
    ),
    page.writable
      ? h('button', { type: 'submit', id: 'org-save', class: 'primary', text: 'Save limits' })
      : null,
    h('p', {
      class: 'help',
      text: 'Empty means no limit. A member’s own switch and limit apply too: the lowest headroom wins.',
    }),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    act(async () => {
      /** @type {Record<string, string | null>} */
      const seatLimits = {};
      for (const { seat, input } of seatInputs) seatLimits[seat.id] = normalizeUsdInput(input.value);
      await api('PUT', `${base}/usage-credits`, {
        enabled: uc.enabled,
        monthly_limit_usd: normalizeUsdInput(limitInput.value),
        seat_tier_limits_usd: seatLimits,
      });
      return 'Org limits saved.';
    });
  });
  card.append(form);
  return card;
}
