// Tasks: server-side filters, search, sorting and paging (GET api/tasks), all kept in the URL hash; the page refreshes
// when the history changes (tasks_version), at most every 2 s.
import { get } from '../api.js';
import { h, replace, fmtTime, fmtRuntime, message, stateBadge, taskLink, workerLink } from '../dom.js';
import * as live from '../live.js';

const States = ['PENDING', 'RECEIVED', 'STARTED', 'SUCCESS', 'FAILURE', 'RETRY', 'REVOKED', 'REJECTED'];
const Params = ['states', 'name', 'worker', 'queue', 'from', 'to', 'search', 'sort', 'desc', 'offset', 'limit'];
const PageSize = 50;

const Columns = [
  { label: 'ID' }, { label: 'Name', sort: 'name' }, { label: 'State', sort: 'state' }, { label: 'Worker' }, { label: 'Queue' },
  { label: 'Args' }, { label: 'Seen', sort: 'seen' }, { label: 'Started', sort: 'started' }, { label: 'Finished', sort: 'finished' },
  { label: 'Runtime', sort: 'runtime', num: true },
];

/** datetime-local ("2026-01-31T12:00") ↔ ISO UTC. */
function toIso(local) { if (!local) return ''; const d = new Date(local); return Number.isNaN(d.getTime()) ? '' : d.toISOString(); }
function toLocal(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = n => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function hashFor(params) {
  const kept = new URLSearchParams();
  for (const key of Params) if (params.get(key)) kept.set(key, params.get(key));
  const text = kept.toString();
  return `#/tasks${text ? `?${text}` : ''}`;
}

export function render(main, _params, query) {
  let gone = false;
  const current = new URLSearchParams();
  for (const key of Params) if (query.get(key)) current.set(key, query.get(key));
  const go = changes => {
    const next = new URLSearchParams(current);
    for (const [k, v] of Object.entries(changes)) { if (v === '' || v == null) next.delete(k); else next.set(k, String(v)); }
    location.hash = hashFor(next);
  };

  const field = (key, attrs) => h('input', { name: key, value: current.get(key) || '', testid: `filter-${key}`, 'aria-label': key, ...attrs });
  const state = h('select', { name: 'states', testid: 'filter-state', 'aria-label': 'state' },
    h('option', { value: '' }, 'any state'),
    States.map(s => h('option', { value: s, selected: current.get('states') === s }, s)),
    current.get('states') && !States.includes(current.get('states')) ? h('option', { value: current.get('states'), selected: true }, current.get('states')) : null);
  const name = field('name', { type: 'text', placeholder: 'task name (exact)' });
  const worker = field('worker', { type: 'text', placeholder: 'worker (exact)' });
  const queue = field('queue', { type: 'text', placeholder: 'queue' });
  const from = h('input', { type: 'datetime-local', value: toLocal(current.get('from')), testid: 'filter-from', 'aria-label': 'seen from' });
  const to = h('input', { type: 'datetime-local', value: toLocal(current.get('to')), testid: 'filter-to', 'aria-label': 'seen before' });
  const search = field('search', { type: 'search', placeholder: 'search id, args, kwargs, result, exception', class: 'wide' });
  const form = h('form', { class: 'filters', testid: 'task-filters', onsubmit: e => {
    e.preventDefault();
    go({ states: state.value, name: name.value.trim(), worker: worker.value.trim(), queue: queue.value.trim(),
      from: toIso(from.value), to: toIso(to.value), search: search.value.trim(), offset: '' });
  } },
  state, name, worker, queue, h('label', {}, 'from ', from), h('label', {}, 'to ', to), search,
  h('button', { type: 'submit', testid: 'filter-apply' }, 'Apply'),
  h('a', { href: '#/tasks', class: 'button', testid: 'filter-clear' }, 'Clear'));
  state.addEventListener('change', () => form.requestSubmit());

  const sort = current.get('sort') || 'seen';
  const desc = current.get('desc') !== 'false';
  const head = h('tr', {}, Columns.map(c => {
    if (!c.sort) return h('th', { class: c.num ? 'num' : '' }, c.label);
    const active = c.sort === sort;
    const arrow = active ? (desc ? ' ▼' : ' ▲') : '';
    return h('th', { class: c.num ? 'num' : '' },
      h('a', { href: hashFor(withChanges(current, { sort: c.sort, desc: active ? String(!desc) : 'true', offset: '' })), testid: `sort-${c.sort}`,
        class: active ? 'sorted' : '' }, c.label + arrow));
  }));
  const tbody = h('tbody', { testid: 'tasks-body' });
  const pager = h('div', { class: 'pager', testid: 'tasks-pager' });
  const error = h('div', { testid: 'tasks-error' });
  main.append(h('h1', {}, 'Tasks'), form, error, h('table', { class: 'grid', testid: 'tasks-table' }, h('thead', {}, head), tbody), pager);

  let shown = null;
  async function load() {
    const params = new URLSearchParams(current);
    if (!params.get('limit')) params.set('limit', String(PageSize));
    try {
      const page = await get(`api/tasks?${params}`);
      if (gone) return;
      error.replaceChildren();
      // Unchanged pages are left alone, so a row being clicked or selected is not replaced under the pointer.
      const text = JSON.stringify(page);
      if (text === shown) return;
      shown = text;
      show(page);
    } catch (e) {
      if (!gone) replace(error, message('error', e.message, 'tasks-error-message'));
    }
  }

  function show(page) {
    replace(tbody, page.tasks.map(t => h('tr', { testid: 'task-row', dataset: { id: t.id, state: t.state } },
      h('td', {}, taskLink(t.id, t.id.length > 12 ? `${t.id.slice(0, 8)}…` : t.id)),
      h('td', { testid: 'task-name' }, t.name ?? ''),
      h('td', {}, stateBadge(t.state)),
      h('td', {}, t.worker ? workerLink(t.worker) : ''),
      h('td', {}, t.queue ?? ''),
      h('td', { class: 'mono clip', title: `${t.args ?? ''} ${t.kwargs ?? ''}` }, [t.args, t.kwargs && t.kwargs !== '{}' ? t.kwargs : null].filter(Boolean).join(' ')),
      h('td', {}, fmtTime(t.seen_at)),
      h('td', {}, fmtTime(t.started_at)),
      h('td', {}, fmtTime(t.finished_at)),
      h('td', { class: 'num' }, fmtRuntime(t.runtime)))));
    if (!page.tasks.length) tbody.append(h('tr', {}, h('td', { colspan: Columns.length, class: 'muted', testid: 'tasks-empty' }, 'No task matches.')));
    const first = page.total === 0 ? 0 : page.offset + 1;
    const last = page.offset + page.tasks.length;
    replace(pager,
      h('button', { type: 'button', testid: 'page-prev', disabled: page.offset === 0, onclick: () => go({ offset: Math.max(0, page.offset - page.limit) || '' }) }, '‹ Previous'),
      h('span', { testid: 'tasks-count' }, `${first}–${last} of ${page.total}`),
      h('button', { type: 'button', testid: 'page-next', disabled: last >= page.total, onclick: () => go({ offset: page.offset + page.limit }) }, 'Next ›'));
  }

  load();
  const stop = live.onTasksChanged(load);
  return () => { gone = true; stop(); };
}

function withChanges(params, changes) {
  const next = new URLSearchParams(params);
  for (const [k, v] of Object.entries(changes)) { if (v === '' || v == null) next.delete(k); else next.set(k, v); }
  return next;
}
