// Workers: a table updated in place from the live snapshots, a filter, checkboxes and bulk actions on the selection.
import { get, q } from '../api.js';
import { h, setText, fmtAgo, fmtTime, message, workerLink } from '../dom.js';
import * as live from '../live.js';
import { workerActions } from './worker-actions.js';

/** Pool requests in flight at most (each is a control request to one node). */
const MaxAsking = 4;

export function render(main, _params, query) {
  const selected = new Set();
  const rows = new Map(); // node → {tr, box, cells, worker}
  let gone = false;
  // Pool kind and size per node, asked once per visit (GET api/workers/{node}), since the list does not carry them;
  // null while asked or when unknown.
  const pools = new Map();
  let asking = 0;
  const waiting = [];
  let filter = query.get('filter') || '';

  const filterBox = h('input', { type: 'search', placeholder: 'Filter by node, status or software…', value: filter, testid: 'worker-filter',
    'aria-label': 'Filter workers', oninput: () => { filter = filterBox.value; applyFilter(); } });
  const selectAll = h('input', { type: 'checkbox', testid: 'select-all', 'aria-label': 'Select all workers',
    onchange: () => { for (const node of rows.keys()) toggle(node, selectAll.checked); update(); } });
  const selectFiltered = h('button', { type: 'button', testid: 'select-filtered', onclick: () => {
    for (const [node, row] of rows) toggle(node, !row.tr.hidden);
    update();
  } }, 'Select filtered');
  const clear = h('button', { type: 'button', testid: 'select-none', onclick: () => { for (const node of rows.keys()) toggle(node, false); update(); } }, 'Clear');
  const count = h('span', { class: 'muted', testid: 'selected-count' }, '0 selected');
  const summary = h('span', { class: 'muted', testid: 'workers-summary' });
  const tbody = h('tbody', { testid: 'workers-body' });
  const empty = h('p', { class: 'muted', testid: 'workers-empty', hidden: true }, 'No worker seen yet. Workers appear with their first heartbeat (they need events enabled: -E).');
  const actions = workerActions(() => [...selected].filter(n => rows.has(n)));

  main.append(
    h('h1', {}, 'Workers ', summary),
    h('div', { class: 'toolbar' }, filterBox, selectFiltered, clear, count),
    h('table', { class: 'grid', testid: 'workers-table' },
      h('thead', {}, h('tr', {},
        h('th', { class: 'check' }, selectAll), h('th', {}, 'Status'), h('th', {}, 'Node'), h('th', {}, 'Last heartbeat'),
        h('th', {}, 'Pool'), h('th', { class: 'num' }, 'Active'), h('th', { class: 'num' }, 'Processed'),
        h('th', { class: 'num', title: 'tasks of the history that failed on it' }, 'Failed'), h('th', {}, 'Load'),
        h('th', {}, 'Software'))),
      tbody),
    empty,
    h('h2', {}, 'Actions on the selected workers'),
    actions.element);

  function toggle(node, on) {
    const row = rows.get(node);
    if (on) selected.add(node); else selected.delete(node);
    if (row) row.box.checked = on;
  }

  function matches(row) {
    if (!filter) return true;
    const w = row.worker;
    const text = `${w.node} ${w.online ? 'online' : 'offline'} ${w.sw?.ident ?? ''} ${w.sw?.ver ?? ''} ${row.cells.pool.textContent}`.toLowerCase();
    return filter.toLowerCase().split(/\s+/).filter(Boolean).every(part => text.includes(part));
  }

  function applyFilter() {
    for (const row of rows.values()) row.tr.hidden = !matches(row);
  }

  function update() {
    count.textContent = `${selected.size} selected`;
    selectAll.checked = rows.size > 0 && [...rows.keys()].every(n => selected.has(n));
    selectAll.indeterminate = !selectAll.checked && selected.size > 0;
    actions.refresh();
  }

  function rowFor(w) {
    const box = h('input', { type: 'checkbox', testid: 'worker-select', 'aria-label': `Select ${w.node}`,
      onchange: () => { toggle(w.node, box.checked); update(); } });
    const cells = {
      status: h('td', { testid: 'worker-status' }), heartbeat: h('td', { testid: 'worker-heartbeat' }), pool: h('td', { testid: 'worker-pool' }),
      active: h('td', { class: 'num', testid: 'worker-active' }), processed: h('td', { class: 'num', testid: 'worker-processed' }),
      failed: h('td', { class: 'num', testid: 'worker-failed' }),
      load: h('td', { testid: 'worker-load' }), sw: h('td', { class: 'muted' }),
    };
    const tr = h('tr', { testid: 'worker-row', dataset: { node: w.node } },
      h('td', { class: 'check' }, box), cells.status, h('td', { testid: 'worker-node' }, workerLink(w.node)), cells.heartbeat, cells.pool,
      cells.active, cells.processed, cells.failed, cells.load, cells.sw);
    return { tr, box, cells, worker: w };
  }

  function show(workers) {
    const now = Date.now();
    const sorted = [...workers].sort((a, b) => a.node < b.node ? -1 : a.node > b.node ? 1 : 0);
    for (const w of sorted) {
      let row = rows.get(w.node);
      if (!row) { row = rowFor(w); rows.set(w.node, row); }
      row.worker = w;
      const c = row.cells;
      row.tr.dataset.online = String(w.online);
      c.status.replaceChildren(h('span', { class: `dot ${w.online ? 'dot-on' : 'dot-off'}` }), w.online ? 'online' : 'offline');
      setText(c.heartbeat, fmtAgo(w.last_heartbeat, now));
      c.heartbeat.title = w.last_heartbeat ? fmtTime(w.last_heartbeat) : '';
      setText(c.active, w.active ?? '');
      setText(c.processed, w.processed ?? '');
      setText(c.failed, w.failed ?? 0);
      setText(c.load, w.load ? w.load.map(x => x.toFixed(2)).join(' ') : '');
      setText(c.sw, [w.sw?.ident, w.sw?.ver].filter(Boolean).join(' '));
      if (w.online && !pools.has(w.node)) askPool(w, row);
      const pool = pools.get(w.node);
      if (pool) setText(c.pool, pool);
      else if (!pools.has(w.node)) setText(c.pool, '');
    }
    // Order by node; move rows only when the order changed (a moved row keeps its checkbox and focus).
    const order = sorted.map(w => rows.get(w.node).tr);
    if (order.some((tr, i) => tbody.children[i] !== tr)) tbody.append(...order);
    const online = workers.filter(w => w.online).length;
    summary.textContent = `${online} online, ${workers.length - online} offline`;
    empty.hidden = workers.length > 0;
    applyFilter();
    update();
  }

  async function askPool(w, row) {
    pools.set(w.node, null);
    setText(row.cells.pool, '…');
    while (asking >= MaxAsking) await new Promise(resolve => waiting.push(resolve));
    if (gone) return;
    asking++;
    try {
      const detail = await get(`api/workers/${q(w.node)}`);
      const pool = detail.stats?.pool;
      if (!pool) { setText(row.cells.pool, ''); return; }
      const kind = poolKind(pool.implementation);
      const size = pool['max-concurrency'] ?? (Array.isArray(pool.processes) ? pool.processes.length : null);
      pools.set(w.node, [kind, size].filter(x => x != null && x !== '').join(' × '));
      setText(row.cells.pool, pools.get(w.node));
    } catch {
      // Unknown pool: the cell stays empty; the worker page shows the error.
      setText(row.cells.pool, '');
    } finally {
      asking--;
      waiting.shift()?.();
    }
  }

  const error = h('div', { testid: 'workers-error' });
  main.insertBefore(error, main.children[1]);
  get('api/workers').then(r => { if (!gone && rows.size === 0) show(r.workers || []); },
    e => { if (!gone) error.replaceChildren(message('error', e.message)); });
  const unsubscribe = live.subscribe(s => show(s.workers || []));
  return () => { gone = true; unsubscribe(); };
}

/** "celery.concurrency.prefork:TaskPool" → "prefork"; "fennel:threads" → "threads". */
export function poolKind(implementation) {
  const [module, name] = String(implementation ?? '').split(':');
  return name && name !== 'TaskPool' ? name : module.split('.').pop();
}
