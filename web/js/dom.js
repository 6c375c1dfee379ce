// A few DOM helpers. Text always goes in as text (`textContent`), never as HTML: names of apps,
// surfaces and models come from usage records, which the page does not trust.

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @typedef {Record<string, unknown>} Props
 */

/**
 * Creates an element. Props: `class`, `text`, `on<event>` listeners, `value`/`checked` (set as
 * properties), booleans (present or absent), anything else as an attribute.
 * @param {string} tag
 * @param {Props} [props]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = String(value);
    else if (key === 'text') el.textContent = String(value);
    else if (key.startsWith('on') && typeof value === 'function')
      el.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    else if (key === 'value' || key === 'checked') /** @type {any} */ (el)[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** An id safe to use in `id`/`for` attributes, derived from any text (app names, account ids). */
export function slug(text) {
  return String(text)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

const dateFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** @param {number | string} at */
export function formatDate(at) {
  return dateFormat.format(new Date(at));
}

/** @param {number | string} at */
export function formatDateTime(at) {
  return dateTimeFormat.format(new Date(at));
}

/**
 * A `<time>` element showing the instant in the reader's time zone, with the exact instant in
 * `datetime` (and as a tooltip).
 * @param {string | number} at
 * @param {boolean} [withTime]
 */
export function time(at, withTime = true) {
  const iso = new Date(at).toISOString();
  return h('time', { datetime: iso, title: iso }, withTime ? formatDateTime(at) : formatDate(at));
}

/**
 * "in 3 days", "5 hours ago": the distance from `nowMs`, in the largest unit that fits.
 * @param {number} atMs
 * @param {number} nowMs
 */
export function relative(atMs, nowMs) {
  const diff = atMs - nowMs;
  const abs = Math.abs(diff);
  if (abs >= 86_400_000) return relativeFormat.format(Math.trunc(diff / 86_400_000), 'day');
  if (abs >= 3_600_000) return relativeFormat.format(Math.trunc(diff / 3_600_000), 'hour');
  return relativeFormat.format(Math.trunc(diff / 60_000), 'minute');
}

/**
 * A switch: a checkbox with `role="switch"` and a visible label, announced as on/off.
 * @param {{ id: string, label: string, checked: boolean, disabled?: boolean,
 *   onchange?: (checked: boolean, input: HTMLInputElement) => void }} options
 */
export function toggle({ id, label, checked, disabled = false, onchange }) {
  const input = /** @type {HTMLInputElement} */ (
    h('input', { type: 'checkbox', role: 'switch', id, checked, disabled })
  );
  if (onchange) input.addEventListener('change', () => onchange(input.checked, input));
  return h(
    'label',
    { class: 'switch', for: id },
    input,
    h('span', { class: 'switch-track', 'aria-hidden': 'true' }),
    h('span', { class: 'switch-label' }, label),
  );
}

/**
 * A horizontal bar whose width is `fraction` of its track (a coordinate, not a figure).
 * @param {number} fraction
 * @param {string} [kind]
 */
export function bar(fraction, kind = '') {
  const fill = h('span', { class: `bar-fill ${kind}` });
  fill.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  return h('span', { class: 'bar', 'aria-hidden': 'true' }, fill);
}
