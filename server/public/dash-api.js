// The dashboard's one door to the API: the bearer token (from the `#token=` link, then this
// browser's local storage), JSON in and out, errors as exceptions carrying status and the API's
// issue list, and the ETag of each answer so that writes can say which version they were based on.

const TOKEN_KEY = 'dmpc.token';

export class ApiCallError extends Error {
  constructor(status, body, statusText) {
    super(body?.message ?? statusText ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/**
 * Moves a `token=` entry of the URL fragment into local storage and removes it from the address bar
 * (and from the history entry), so that the token is neither bookmarked nor shown over a shoulder.
 * Returns the token it found, or null.
 */
export function takeTokenFromHash() {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (!m) return null;
  const tok = decodeURIComponent(m[1]).trim();
  localStorage.setItem(TOKEN_KEY, tok);
  const rest = location.hash.slice(1).split('&').filter((kv) => !kv.startsWith('token=')).join('&');
  history.replaceState(null, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
  return tok;
}

export const storedToken = () => localStorage.getItem(TOKEN_KEY) ?? '';
export const storeToken = (t) => localStorage.setItem(TOKEN_KEY, t);

/**
 * One request. `opts.ifMatch` sends `If-Match` (optimistic concurrency: the server answers 412 when
 * the resource has moved on). Resolves to `{ data, etag, status }`.
 */
export async function request(method, path, body, opts = {}) {
  const headers = { 'x-dmpc-user': 'dashboard' };
  const tok = storedToken();
  if (tok) headers.authorization = `Bearer ${tok}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (opts.ifMatch) headers['if-match'] = opts.ifMatch;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiCallError(res.status, data, res.statusText);
  return { data, etag: res.headers.get('etag'), status: res.status };
}

export const api = async (method, path, body, opts) => (await request(method, path, body, opts)).data;

/** The error as lines a person can act on: status, message, then every issue with its path. */
export function errorText(e) {
  if (!e) return '';
  const issues = e.body?.issues?.map((i) => `• ${i.path.join('.') || '(body)'}: ${i.message}`).join('\n') ?? '';
  const warn = e.body?.warnings?.map((w) => `• ${typeof w === 'string' ? w : w.message ?? JSON.stringify(w)}`).join('\n') ?? '';
  return `${e.status ?? ''} ${e.message}${issues ? `\n${issues}` : ''}${warn ? `\n${warn}` : ''}`.trim();
}
