// The dashboard's entry point: sign in with a token, ask the API who it is (GET /v1/me), and show
// the view for that role. Routes live in the URL's fragment, so the back button works and nothing
// reaches the server but API calls:
//   #/accounts/<id>   an account (the holder's own, or a member's for an org admin)
//   #/orgs/<id>       an org's members and usage-credit policy

import { renderAccount } from './account.js';
import { ApiError, api, enc, session } from './api.js';
import { h } from './dom.js';
import { renderOrg } from './org.js';

const view = /** @type {HTMLElement} */ (document.getElementById('view'));
const signInSection = /** @type {HTMLElement} */ (document.getElementById('sign-in'));
const signInForm = /** @type {HTMLFormElement} */ (document.getElementById('sign-in-form'));
const tokenInput = /** @type {HTMLInputElement} */ (document.getElementById('token'));
const signInError = /** @type {HTMLElement} */ (document.getElementById('sign-in-error'));
const who = /** @type {HTMLElement} */ (document.getElementById('who'));
const signOut = /** @type {HTMLButtonElement} */ (document.getElementById('sign-out'));
const status = /** @type {HTMLElement} */ (document.getElementById('status'));

/** How long a status message stays on screen. */
const statusMs = 6000;
let statusTimer = 0;

/**
 * Announces a message in the live region (screen readers read it; it fades after a while).
 * @param {string} message
 * @param {'ok' | 'error'} [kind]
 */
function notify(message, kind = 'ok') {
  status.textContent = message;
  status.className = `status ${kind}`;
  clearTimeout(statusTimer);
  statusTimer = window.setTimeout(() => {
    status.textContent = '';
    status.className = 'status';
  }, statusMs);
}

/** @param {string} [message] */
function showSignIn(message) {
  view.replaceChildren();
  who.textContent = '';
  signOut.hidden = true;
  signInSection.hidden = false;
  signInError.textContent = message ?? '';
  tokenInput.value = '';
  tokenInput.focus();
}

signInForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = tokenInput.value.trim();
  if (!token) {
    signInError.textContent = 'Paste a token first.';
    return;
  }
  session.set(token);
  void route(true);
});

signOut.addEventListener('click', () => {
  session.clear();
  history.replaceState(null, '', location.pathname);
  showSignIn('Signed out.');
});

window.addEventListener('hashchange', () => void route(true));

/**
 * @param {any} me the answer of GET /v1/me
 * @returns {{ kind: 'account' | 'org', id: string } | null}
 */
function target(me) {
  const match = /^#\/(accounts|orgs)\/(.+)$/.exec(location.hash);
  if (match) return { kind: match[1] === 'accounts' ? 'account' : 'org', id: decodeURIComponent(match[2]) };
  if (me.role === 'account') return { kind: 'account', id: me.account_id };
  if (me.role === 'org_admin') return { kind: 'org', id: me.org_id };
  return null;
}

/** Admin and meter tokens have no account of their own: ask which one to open. */
function picker(/** @type {any} */ me) {
  const field = (/** @type {string} */ id, /** @type {string} */ label, /** @type {string} */ kind) => {
    const input = /** @type {HTMLInputElement} */ (h('input', { id, autocomplete: 'off', required: true }));
    const form = h(
      'form',
      { class: 'inline-form' },
      h('label', { for: id, text: label }),
      input,
      h('button', { type: 'submit', text: kind === 'accounts' ? 'Open account' : 'Open org' }),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      location.hash = `#/${kind}/${enc(input.value.trim())}`;
    });
    return form;
  };
  return h(
    'section',
    { class: 'card' },
    h('h1', { id: 'page-title', tabindex: '-1', text: me.role === 'admin' ? 'Admin' : 'Meter' }),
    h('p', { text: 'This token is not tied to one account. Open one:' }),
    field('open-account', 'Account id', 'accounts'),
    me.role === 'admin' ? field('open-org', 'Org id', 'orgs') : null,
  );
}

/** @param {boolean} moveFocus after a sign-in or a navigation, focus the new page's heading */
async function route(moveFocus) {
  if (!session.token) {
    showSignIn();
    return;
  }
  let me;
  try {
    me = await api('GET', '/v1/me');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      session.clear();
      showSignIn('That token was not accepted. Check it and try again.');
    } else {
      showSignIn(`Could not reach the API: ${error instanceof Error ? error.message : error}`);
    }
    return;
  }
  // The server's clock, not the browser's: a server on a test clock (or a skewed laptop) still
  // shows the right days left.
  const serverNow = Date.parse(me.now);
  const fetchedAt = performance.now();
  const now = () => serverNow + (performance.now() - fetchedAt);
  signInSection.hidden = true;
  signOut.hidden = false;
  who.textContent =
    me.role === 'account' ? me.account_id : me.role === 'org_admin' ? `org admin · ${me.org_id}` : me.role;
  const to = target(me);
  try {
    if (to === null) {
      view.replaceChildren(picker(me));
    } else if (to.kind === 'account') {
      const own = me.role === 'account' && me.account_id === to.id;
      await renderAccount(view, {
        accountId: to.id,
        writable: own || me.role === 'admin',
        now,
        notify,
        back: me.role === 'org_admin' ? { href: `#/orgs/${enc(me.org_id)}`, label: 'All members' } : null,
      });
    } else {
      await renderOrg(view, {
        orgId: to.id,
        writable: me.role === 'admin' || me.role === 'org_admin',
        now,
        notify,
      });
    }
  } catch (error) {
    const message =
      error instanceof ApiError && error.status === 404
        ? 'Nothing here for this token.'
        : error instanceof Error
          ? error.message
          : String(error);
    view.replaceChildren(
      h(
        'section',
        { class: 'card' },
        h('h1', { id: 'page-title', tabindex: '-1', text: 'Not available' }),
        h('p', { class: 'error', text: message }),
      ),
    );
  }
  if (moveFocus) document.getElementById('page-title')?.focus();
}

void route(false);
