// The dashboard: nodes, jobs (filtered, paged), a job's details with its output followed live, a submit form
// and a cancel button. Live from the job event stream (/v1/events, server-sent events), not by polling.
import { api, ApiError, signIn, streamEvents, streamOutput, printable, stateName, isFinished, parseBytes, parseSeconds, parseNumber } from './api.js';
import { renderNodes, renderJobRow, renderFields } from './render.js';

const PAGE_SIZE = 20;
const OUTPUT_LIMIT = 2 * 1024 * 1024; // characters kept on the page; the rest is in the API
const $ = (id) => document.getElementById(id);

const view = {
  filter: '',
  tokens: [''],      // page_token of each page seen; the last is the current page's
  jobs: new Map(),   // the current page, id → job
  selected: null,    // the job shown in the details
  eventShown: null,  // the selected job, once an event has shown it: a slower GET of it must not overwrite that
  stream: 'stdout',
  output: null,      // AbortController of the output being followed
  events: null,      // AbortController of the event stream
};

function problem(text) {
  $('problem').textContent = text ? printable(text) : '';
  $('problem').hidden = !text;
}

async function loadNodes() {
  const answer = await api('/v1/nodes');
  renderNodes($('nodes').tBodies[0], answer.nodes ?? []);
}

// Loads the current page; returns the revision it was read at.
async function loadJobs() {
  const query = new URLSearchParams({ page_size: String(PAGE_SIZE) });
  if (view.filter) query.set('state', view.filter);
  const token = view.tokens[view.tokens.length - 1];
  if (token) query.set('page_token', token);
  const answer = await api(`/v1/jobs?${query}`);
  view.jobs = new Map((answer.jobs ?? []).map((job) => [job.id, job]));
  view.next = answer.next_page_token ?? '';
  renderJobs();
  return Number(answer.revision ?? 0);
}

function renderJobs() {
  const body = $('jobs').tBodies[0];
  body.replaceChildren(...[...view.jobs.values()].map((job) => renderJobRow(job, job.id === view.selected, select)));
  $('no-jobs').hidden = view.jobs.size > 0;
  $('page').textContent = `page ${view.tokens.length}`;
  $('newer').disabled = view.tokens.length === 1;
  $('older').disabled = !view.next;
}

function matches(job) {
  return !view.filter || stateName(job.state) === view.filter;
}

// One change from the event stream: the page, the details and the nodes follow it.
function apply(event) {
  const job = event.job;
  const shown = view.jobs.has(job.id);
  if (event.deleted || (shown && !matches(job))) {
    view.jobs.delete(job.id);
  } else if (shown) {
    view.jobs.set(job.id, { ...view.jobs.get(job.id), ...job });
  } else if (view.tokens.length === 1 && matches(job)) {
    // New on the first page: newest first, the page keeps its size.
    view.jobs = new Map([[job.id, job], ...view.jobs]);
    if (view.jobs.size > PAGE_SIZE) view.jobs.delete([...view.jobs.keys()].pop());
  }
  renderJobs();
  if (job.id === view.selected) {
    view.eventShown = job.id;
    if (event.deleted) closeDetails();
    else showDetails(job);
  }
  refreshNodesSoon();
}

let nodesTimer = 0;
function refreshNodesSoon() {
  clearTimeout(nodesTimer);
  nodesTimer = setTimeout(() => loadNodes().catch(report), 250);
}

function watch(fromRevision) {
  view.events?.abort();
  const controller = new AbortController();
  view.events = controller;
  const live = (on) => {
    $('live').textContent = on ? 'live' : 'reconnecting…';
    $('live').classList.toggle('on', on);
  };
  let lastId = '';
  (async () => {
    while (!controller.signal.aborted) {
      try {
        await streamEvents(`/v1/events?start_revision=${fromRevision}`, lastId, controller.signal, () => live(true), (name, data, id) => {
          if (id) lastId = id;
          if (name === 'job') apply(JSON.parse(data));
          if (name === 'error') {
            const error = JSON.parse(data);
            throw new ApiError(0, error.code, error.message);
          }
        });
      } catch (e) {
        if (controller.signal.aborted) return;
        if (e instanceof ApiError) {
          live(false);
          if (e.code === 'OUT_OF_RANGE') { reload(); return; } // fell behind the cluster's history: list again
          report(e.status ? e : new Error(`the event stream stopped: ${e.message}`));
          if (e.status !== 401) setTimeout(reload, 5000);
          return;
        }
      }
      // The connection broke (or the node ended the stream): again in 2 s, after the last event seen.
      live(false);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  })();
}

async function reload() {
  try {
    const revision = await loadJobs();
    watch(revision + 1);
    await loadNodes();
    problem('');
  } catch (e) {
    report(e);
  }
}

function report(e) {
  if (e instanceof ApiError && e.status === 401) {
    problem(`${e.message} — open the link \`lclusterc --dashboard\` prints`);
  } else {
    problem(e.message ?? String(e));
  }
}

async function select(id) {
  view.selected = id;
  view.eventShown = null;
  renderJobs();
  try {
    const job = await api(`/v1/jobs/${encodeURIComponent(id)}`);
    if (view.selected !== id) return; // another job was chosen meanwhile
    // Events come in order, a GET's answer whenever it does: one read before a change the stream already showed
    // would put the job back in its older state until its next change (a running job: until it ends).
    if (view.eventShown !== id) showDetails(job);
    followOutput();
  } catch (e) {
    report(e);
  }
}

function showDetails(job) {
  $('details').hidden = false;
  $('details-id').textContent = job.id;
  renderFields($('fields'), job);
  const finished = isFinished(job.state);
  $('cancel').textContent = finished ? 'Delete' : 'Cancel';
  $('cancel').classList.toggle('delete', finished);
  $('cancel').dataset.id = job.id;
}

function closeDetails() {
  view.output?.abort();
  view.selected = null;
  $('details').hidden = true;
}

function followOutput() {
  view.output?.abort();
  const controller = new AbortController();
  view.output = controller;
  const pre = $('output');
  pre.textContent = '';
  let shown = 0;
  $('output-state').textContent = 'following…';
  streamOutput(view.selected, view.stream, true, controller.signal, (text) => {
    if (shown >= OUTPUT_LIMIT) return;
    const piece = printable(text, true).slice(0, OUTPUT_LIMIT - shown);
    shown += piece.length;
    pre.append(piece);
    pre.scrollTop = pre.scrollHeight;
  }).then(() => {
    if (view.output === controller) $('output-state').textContent = shown >= OUTPUT_LIMIT ? 'end (cut on this page)' : 'end of output';
  }).catch((e) => {
    if (e.name !== 'AbortError') $('output-state').textContent = `output: ${printable(e.message)}`;
  });
}

async function cancel() {
  const id = $('cancel').dataset.id;
  $('cancel').disabled = true;
  try {
    await api(`/v1/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' });
  } catch (e) {
    report(e);
  } finally {
    $('cancel').disabled = false;
  }
}

function request() {
  const env = {};
  for (const line of $('env').value.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`environment line '${line}' is not KEY=value`);
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return {
    command: $('command').value,
    name: $('name').value,
    env,
    limits: {
      memory_bytes: String(parseBytes($('memory').value, 'memory')),
      cpus: parseNumber($('cpus').value, 'cpus', false),
      pids: String(parseNumber($('pids').value, 'pids', true)),
      time_seconds: parseSeconds($('time').value, 'time limit'),
      disk_bytes: String(parseBytes($('disk').value, 'disk')),
    },
    priority: parseNumber($('priority').value, 'priority', true),
    retries: parseNumber($('retries').value, 'retries', true),
  };
}

async function submit(event) {
  event.preventDefault();
  $('submit').disabled = true;
  try {
    const added = await api('/v1/jobs', { method: 'POST', body: request() });
    $('submitted').textContent = `queued ${added.id}`;
    problem('');
    await select(added.id);
  } catch (e) {
    $('submitted').textContent = '';
    report(e);
  } finally {
    $('submit').disabled = false;
  }
}

function page(step) {
  if (step > 0 && view.next) view.tokens.push(view.next);
  if (step < 0 && view.tokens.length > 1) view.tokens.pop();
  loadJobs().catch(report);
}

function showStream(stream) {
  view.stream = stream;
  $('show-stdout').classList.toggle('on', stream === 'stdout');
  $('show-stderr').classList.toggle('on', stream === 'stderr');
  if (view.selected) followOutput();
}

let who = null;
let refused = false;
try {
  who = await signIn();
} catch (e) {
  refused = true; // the link was refused: that is the problem to show, not the calls that then fail for want of it
  report(e);
}
$('user').textContent = who ? `signed in as ${printable(who.user)}${who.admin ? ' (admin)' : ''}` : 'not signed in';
$('state-filter').addEventListener('change', (e) => { view.filter = e.target.value; view.tokens = ['']; loadJobs().catch(report); });
$('newer').addEventListener('click', () => page(-1));
$('older').addEventListener('click', () => page(1));
$('cancel').addEventListener('click', cancel);
$('show-stdout').addEventListener('click', () => showStream('stdout'));
$('show-stderr').addEventListener('click', () => showStream('stderr'));
$('submit-form').addEventListener('submit', submit);
if (!refused) reload();
