// The page's only way to the data: the public HTTP API (API.md), with the token the person typed.
// The token lives in sessionStorage: it survives a reload, not the closing of the tab, and is
// never written anywhere else.

const tokenKey = 'creditpool.token';

export const session = {
  /** @returns {string | null} */
  get token() {
    return sessionStorage.getItem(tokenKey);
  },
  /** @param {string} token */
  set(token) {
    sessionStorage.setItem(tokenKey, token);
  },
  clear() {
    sessionStorage.removeItem(tokenKey);
  },
};

/** A problem document (RFC 9457) from the API, or a network failure (status 0). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{ code?: string, detail?: string, title?: string }} problem
   */
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code ?? 'unknown';
  }
}

/**
 * Calls the API with the session's token.
 * @param {'GET' | 'POST' | 'PUT'} method
 * @param {string} path with ids already encoded (`enc`)
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function api(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  const token = session.token;
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new ApiError(0, { code: 'network', detail: 'the server did not answer; is it running?' });
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) throw new ApiError(response.status, json ?? { detail: text || response.statusText });
  return json;
}

/** A path segment: account ids may hold `@`, `:` and `.`. */
export const enc = encodeURIComponent;

/** Entries per page: the API's maximum, so a month of usage takes a few requests. */
const entriesPageLimit = 1000;
/** A bound on the pages of one listing: 1,000 pages of 1,000 entries is far past any real cycle. */
const entriesPagesMax = 1000;

/**
 * Every entry of one cycle, following the cursor to the last page.
 * @param {string} accountId
 * @param {string} cycleStart
 * @returns {Promise<any[]>}
 */
export async function allEntries(accountId, cycleStart) {
  const entries = [];
  let cursor = null;
  for (let page = 0; page < entriesPagesMax; page++) {
    const query = new URLSearchParams({ cycle_start: cycleStart, limit: String(entriesPageLimit) });
    if (cursor) query.set('cursor', cursor);
    const answer = await api('GET', `/v1/accounts/${enc(accountId)}/entries?${query}`);
    entries.push(...answer.entries);
    cursor = answer.next_cursor;
    if (!cursor) return entries;
  }
  throw new Error(`more than ${entriesPagesMax} pages of entries`);
}
