// The HTTP/JSON API as the dashboard uses it, and how its values are shown.
// Every text from the API goes into the page through textContent, never as HTML.

// Signing in: `lclusterc --dashboard` prints /ui/#token=LINK. The link's token (in the fragment: never sent to the
// node by the browser, nor in a Referer) signs nothing in by itself; it is given once for a session's token, which
// goes into this tab's sessionStorage, belonging to this origin alone, port included (a cookie would go to every
// port of the host), and with each call as Authorization: Bearer. A link seen elsewhere (a browser's command line,
// a terminal) is then spent. Nothing the browser sends by itself names the user, so no other page, of another site
// or another port, can act as them (docs/http.md).
const TOKEN_KEY = 'lcluster_token';

// The user the tab is signed in as, after giving the link's token for a session's when the address holds one; an
// ApiError when that link was refused (used already, expired).
export async function signIn() {
  const match = /^#token=([^&]+)/.exec(location.hash);
  if (match) {
    history.replaceState(null, '', location.pathname);
    const session = await api('/v1/dashboard/session', { method: 'POST', bearer: decodeURIComponent(match[1]) });
    sessionStorage.setItem(TOKEN_KEY, session.token);
  }
  return signedIn();
}

function authorization() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// Who the token names (its payload is "EXPIRY\nADMIN\nKIND NONCE\nUSER" in base64url), to show; the node checks the token itself.
function signedIn() {
  const payload = (sessionStorage.getItem(TOKEN_KEY) ?? '').split('.')[1];
  if (!payload) return null;
  try {
    const bytes = Uint8Array.from(atob(payload.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    const [, admin, , ...user] = new TextDecoder().decode(bytes).split('\n');
    return user.length === 0 ? null : { user: user.join('\n'), admin: admin === '1' };
  } catch {
    return null;
  }
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// A JSON call; an error answer becomes an ApiError with the server's code and message.
export async function api(path, { method = 'GET', body, bearer } = {}) {
  const headers = bearer === undefined ? authorization() : { Authorization: `Bearer ${bearer}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!response.ok) {
    throw new ApiError(response.status, json?.code ?? 'UNKNOWN', json?.message ?? `HTTP ${response.status}`);
  }
  return json;
}

// A job's output, streamed: calls onText with each decoded piece until the stream ends or is aborted.
export async function streamOutput(id, stream, follow, signal, onText) {
  const url = `/v1/jobs/${encodeURIComponent(id)}/output?stream=${stream}${follow ? '&follow=true' : ''}`;
  const response = await fetch(url, { headers: authorization(), signal });
  if (!response.ok) throw await failure(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder('utf-8');
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    onText(decoder.decode(value, { stream: true }));
  }
  onText(decoder.decode());
}

// The job event stream (/v1/events, server-sent events), read with fetch: EventSource cannot send the token.
// Calls onOpen once the node answers, then onEvent(name, data, id) for each event, until the stream ends or is
// aborted; lastId resumes after that event (Last-Event-ID), as EventSource would after a break.
export async function streamEvents(url, lastId, signal, onOpen, onEvent) {
  const headers = authorization();
  if (lastId) headers['Last-Event-ID'] = lastId;
  const response = await fetch(url, { headers, signal, cache: 'no-store' });
  if (!response.ok) throw await failure(response);
  onOpen();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let buffer = '';
    let event = { name: 'message', data: [], id: '' };
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, end).replace(/\r$/, '');
        buffer = buffer.slice(end + 1);
        if (line === '') {
          if (event.data.length > 0) onEvent(event.name, event.data.join('\n'), event.id);
          event = { name: 'message', data: [], id: '' };
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') event.name = text;
          else if (field === 'data') event.data.push(text);
          else if (field === 'id') event.id = text;
        }
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

async function failure(response) {
  const json = await response.json().catch(() => null);
  return new ApiError(response.status, json?.code ?? 'UNKNOWN', json?.message ?? `HTTP ${response.status}`);
}

// As src/Shared/PrintableText.cs shows user text: control and invisible format characters escaped.
export function printable(text, keepLines = false) {
  return String(text ?? '').replace(/[\p{Cc}\p{Cf}]/gu, (c) => {
    if (keepLines && (c === '\n' || c === '\t')) return c;
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.codePointAt(0);
    return code <= 0xff ? '\\x' + code.toString(16).padStart(2, '0') : '\\u' + code.toString(16).padStart(4, '0');
  });
}

// "JOB_STATE_RUNNING" → "running".
export function stateName(state) {
  return String(state ?? '').replace(/^JOB_STATE_/, '').toLowerCase();
}

export function isFinished(state) {
  return ['succeeded', 'failed', 'cancelled', 'lost'].includes(stateName(state));
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(value) {
  let n = Number(value ?? 0);
  let unit = 0;
  while (n >= 1024 && unit < UNITS.length - 1) { n /= 1024; unit++; }
  return `${unit === 0 ? n : n.toFixed(n < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

// "11-29 22:57:23": a listing's short form (the cell's title has it whole).
export function formatShortTime(rfc3339) {
  return formatTime(rfc3339).replace(/^\d{4}-/, '').replace(/Z$/, '');
}

export function formatTime(rfc3339) {
  if (!rfc3339) return '';
  const d = new Date(rfc3339);
  return Number.isNaN(d.getTime()) ? String(rfc3339) : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

// "64M", "1.5G", "4096" → bytes (binary multiples, as lclusterc reads them); "" → 0 (the node's default).
export function parseBytes(text, what) {
  const t = text.trim();
  if (t === '') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(t);
  if (!m) throw new Error(`${what} '${t}' is not a size like 64M or 2G`);
  const power = ' kmgt'.indexOf(m[2].toLowerCase() || ' ');
  return Math.round(Number(m[1]) * 1024 ** power);
}

// "90", "90s", "5m", "1h30m" → seconds; "" → 0 (none).
export function parseSeconds(text, what) {
  const t = text.trim();
  if (t === '') return 0;
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(t);
  if (!m || t === '') throw new Error(`${what} '${t}' is not a duration like 10s, 5m or 1h30m`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

export function parseNumber(text, what, whole) {
  const t = text.trim();
  if (t === '') return 0;
  const n = Number(t);
  if (!Number.isFinite(n) || (whole && !Number.isInteger(n))) throw new Error(`${what} '${t}' is not a ${whole ? 'whole ' : ''}number`);
  return n;
}
