// The dashboard's tables and fields, built as DOM nodes: every value goes in as text, never as HTML.
import { printable, stateName, formatBytes, formatTime, formatShortTime } from './api.js';

function cell(text, className, title) {
  const td = document.createElement('td');
  td.textContent = printable(text);
  td.title = title === undefined ? td.textContent : printable(title);
  if (className) td.className = className;
  return td;
}

export function renderNodes(body, nodes) {
  body.replaceChildren(...nodes.map((node) => {
    const tr = document.createElement('tr');
    tr.dataset.name = node.name;
    tr.append(
      cell(node.name),
      cell(node.address, 'mono'),
      cell(node.prime ? '★ prime' : ''),
      cell(`${node.slots_used ?? 0} / ${node.slots ?? 0}`, 'slots'),
      cell(`${formatBytes(node.memory_reserved_bytes)} / ${formatBytes(node.memory_bytes)}`),
      cell(formatTime(node.started_at)),
    );
    return tr;
  }));
}

export function renderJobRow(job, selected, onSelect) {
  const tr = document.createElement('tr');
  tr.dataset.id = job.id;
  if (selected) tr.className = 'selected';
  const state = stateName(job.state);
  tr.append(
    cell(job.id.slice(0, 8), 'mono'),
    cell(job.name),
    cell(state, `state state-${state}`),
    cell(job.node),
    cell(job.owner),
    cell(formatShortTime(job.submitted_at), '', formatTime(job.submitted_at)),
    cell(job.command, 'mono'),
  );
  tr.addEventListener('click', () => onSelect(job.id));
  return tr;
}

const LIMITS = (l) => l ? [
  l.memory_bytes && Number(l.memory_bytes) ? `memory ${formatBytes(l.memory_bytes)}` : '',
  l.cpus ? `cpus ${l.cpus}` : '',
  l.pids && Number(l.pids) ? `pids ${l.pids}` : '',
  l.time_seconds ? `time ${l.time_seconds}s` : '',
  l.disk_bytes && Number(l.disk_bytes) ? `disk ${formatBytes(l.disk_bytes)}` : '',
].filter(Boolean).join(', ') : '';

export function renderFields(dl, job) {
  const exit = job.exit_code ?? null;
  const rows = [
    ['state', stateName(job.state), `state state-${stateName(job.state)}`],
    ['reason', job.reason],
    ['exit code', exit === null ? '' : String(exit)],
    ['signal', job.signal ? String(job.signal) : ''],
    ['out of memory', job.oom_killed ? 'yes' : ''],
    ['timed out', job.timed_out ? 'yes' : ''],
    ['name', job.name],
    ['owner', job.owner],
    ['node', job.node],
    ['attempts', String(job.attempts ?? 0)],
    ['submitted', formatTime(job.submitted_at)],
    ['started', formatTime(job.started_at)],
    ['finished', formatTime(job.finished_at)],
    ['limits', LIMITS(job.limits)],
    ['command', job.command, 'mono'],
  ];
  dl.replaceChildren(...rows.filter(([, value]) => value).flatMap(([name, value, className]) => {
    const dt = document.createElement('dt');
    dt.textContent = name;
    const dd = document.createElement('dd');
    dd.textContent = printable(value);
    dd.dataset.field = name;
    if (className) dd.className = className;
    return [dt, dd];
  }));
}
