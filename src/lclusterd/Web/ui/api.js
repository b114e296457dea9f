// The HTTP/JSON API as the dashboard uses it, and how its values are shown.
// Every text from the API goes into the page through textContent, never as HTML.

// Sent with every call: a change made with the dashboard's cookie must carry it (docs/http.md).
const SCRIPT_HEADER = { 'X-Lcluster-Dashboard': '1' };

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// A JSON call; an error answer becomes an ApiError with the server's code and message.
export async function api(path, { method = 'GET', body } = {}) {
  const headers = { ...SCRIPT_HEADER };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
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
  const response = await fetch(url, { headers: SCRIPT_HEADER, credentials: 'same-origin', signal });
  if (!response.ok) {
    const json = await response.json().catch(() => null);
    throw new ApiError(response.status, json?.code ?? 'UNKNOWN', json?.message ?? `HTTP ${response.status}`);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder('utf-8');
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    onText(decoder.decode(value, { stream: true }));
  }
  onText(decoder.decode());
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
