// One worker: its state from the events; its stats, queues and the tasks it holds (active, reserved, scheduled,
// registered) asked live; and the same actions as the workers page for this node alone.
import { get, q } from '../api.js';
import { h, replace, facts, fmtAgo, fmtTime, message, taskLink } from '../dom.js';
import * as live from '../live.js';
import { workerActions } from './worker-actions.js';
import { poolKind } from './workers.js';

export function render(main, [node]) {
  let gone = false;
  const status = h('span', { testid: 'worker-status' });
  const info = h('div', { testid: 'worker-info' }, h('p', { class: 'muted' }, 'Asking the worker…'));
  const running = h('div', { testid: 'worker-running' });
  const actions = workerActions(() => [node]);
  main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/workers' }, 'Workers'), ' / '),
    h('h1', { testid: 'worker-title' }, node, ' ', status),
    info,
    h('h2', {}, 'Tasks it holds (asked live)'),
    running,
    h('h2', {}, 'Actions'),
    actions.element);

  const unsubscribe = live.subscribe(s => {
    const w = (s.workers || []).find(x => x.node === node);
    if (!w) { replace(status, h('span', { class: 'muted' }, 'not seen in the events')); return; }
    replace(status, h('span', { class: `dot ${w.online ? 'dot-on' : 'dot-off'}` }), w.online ? 'online' : 'offline',
      h('span', { class: 'muted' }, ` · last heartbeat ${fmtAgo(w.last_heartbeat)} · active ${w.active ?? '?'} · processed ${w.processed ?? '?'}`));
  });

  async function load() {
    try {
      const d = await get(`api/workers/${q(node)}`);
      if (gone) return;
      const w = d.worker || {};
      const stats = d.stats || {};
      const pool = stats.pool || {};
      const queues = Array.isArray(d.active_queues) ? d.active_queues : [];
      const totals = Object.entries(stats.total || {}).sort((a, b) => b[1] - a[1]);
      replace(info,
        d.answered ? null : message('error', 'The worker did not answer stats and active_queues (offline, or busy beyond the timeout).'),
        h('div', { class: 'cols' },
          h('section', {}, h('h2', {}, 'Worker'), facts([
            ['Node', node], ['Status', w.online === undefined ? '' : w.online ? 'online' : 'offline'],
            ['Last heartbeat', fmtTime(w.last_heartbeat)], ['Offline since', fmtTime(w.offline_at)],
            ['Software', [w.sw?.ident, w.sw?.ver, w.sw?.sys].filter(Boolean).join(' ')], ['PID', w.pid ?? stats.pid],
            ['Heartbeat every', w.freq ? `${w.freq} s` : ''], ['Load', w.load ? w.load.map(x => x.toFixed(2)).join(' ') : ''],
            ['Uptime', stats.uptime != null ? `${stats.uptime} s` : ''], ['Prefetch', stats.prefetch_count],
          ], 'worker-facts')),
          h('section', {}, h('h2', {}, 'Pool'), facts([
            ['Implementation', pool.implementation ? `${poolKind(pool.implementation)} (${pool.implementation})` : ''],
            ['Concurrency', pool['max-concurrency']], ['Processes', Array.isArray(pool.processes) ? pool.processes.join(', ') : ''],
            ['Max tasks per child', pool['max-tasks-per-child']],
            ['Time limits (soft, hard)', Array.isArray(pool.timeouts) ? pool.timeouts.map(t => t || 'none').join(', ') : ''],
            ['Broker', stats.broker ? `${stats.broker.transport}://${stats.broker.hostname ?? ''}${stats.broker.port ? `:${stats.broker.port}` : ''}/${stats.broker.virtual_host ?? ''}` : ''],
          ], 'worker-pool'))),
        h('h2', {}, 'Queues consumed'),
        queues.length
          ? h('table', { class: 'grid', testid: 'worker-queues' },
            h('thead', {}, h('tr', {}, h('th', {}, 'Queue'), h('th', {}, 'Exchange'), h('th', {}, 'Routing key'))),
            h('tbody', {}, queues.map(x => h('tr', {}, h('td', {}, x.name), h('td', {}, x.exchange?.name ?? ''), h('td', {}, x.routing_key ?? '')))))
          : h('p', { class: 'muted' }, d.answered ? 'None.' : 'Unknown.'),
        h('h2', {}, 'Tasks run, by name (stats)'),
        totals.length
          ? h('table', { class: 'grid narrow-table', testid: 'worker-totals' },
            h('tbody', {}, totals.map(([name, n]) => h('tr', {}, h('td', {}, h('a', { href: `#/tasks?name=${q(name)}&worker=${q(node)}` }, name)), h('td', { class: 'num' }, n)))))
          : h('p', { class: 'muted' }, 'None yet.'),
        h('h2', {}, 'Stats (as the worker replied)'),
        h('details', {}, h('summary', {}, 'stats'), h('pre', { testid: 'worker-stats' }, JSON.stringify(stats, null, 2))));
    } catch (e) {
      if (!gone) replace(info, message('error', e.message, 'worker-error'));
    }
  }

  const requestsTable = (items, testid, eta) => items.length
    ? h('table', { class: 'grid', testid },
      h('thead', {}, h('tr', {}, h('th', {}, 'Task'), h('th', {}, 'Name'), eta ? h('th', {}, 'ETA') : null,
        h('th', {}, eta ? 'Priority' : 'Args'), h('th', {}, eta ? '' : 'Started'))),
      h('tbody', {}, items.map(item => {
        const r = eta ? item.request || {} : item;
        return h('tr', { testid: `${testid}-row` },
          h('td', {}, r.id ? taskLink(r.id) : ''), h('td', {}, r.name ?? r.type ?? ''), eta ? h('td', {}, fmtTime(item.eta)) : null,
          h('td', { class: 'mono clip' }, eta ? item.priority ?? '' : [r.args, r.kwargs && r.kwargs !== '{}' ? r.kwargs : null].filter(Boolean).join(' ')),
          h('td', {}, eta || r.time_start == null ? '' : fmtTime(new Date(r.time_start * 1000).toISOString())));
      })))
    : h('p', { class: 'muted' }, 'None.');

  async function loadTasks() {
    try {
      const d = await get(`api/workers/${q(node)}/tasks`);
      if (gone) return;
      const list = x => (Array.isArray(x) ? x : []);
      replace(running,
        d.answered ? null : message('error', 'The worker did not answer (offline, or busy beyond the timeout).'),
        h('h3', {}, `Active (${list(d.active).length})`), requestsTable(list(d.active), 'worker-active'),
        h('h3', {}, `Reserved (${list(d.reserved).length})`), requestsTable(list(d.reserved), 'worker-reserved'),
        h('h3', {}, `Scheduled (${list(d.scheduled).length})`), requestsTable(list(d.scheduled), 'worker-scheduled', true),
        h('h3', {}, `Registered tasks (${list(d.registered).length})`),
        list(d.registered).length
          ? h('ul', { class: 'plain mono', testid: 'worker-registered' }, list(d.registered).map(n => h('li', {}, String(n))))
          : h('p', { class: 'muted' }, d.answered ? 'None.' : 'Unknown.'),
        h('p', {}, h('a', { href: `#/tasks?worker=${q(node)}` }, 'Every task of this worker in the history')));
    } catch (e) {
      if (!gone) replace(running, message('error', e.message, 'worker-tasks-error'));
    }
  }

  load();
  loadTasks();
  const stopTasks = live.onTasksChanged(loadTasks, 5000);
  return () => { gone = true; unsubscribe(); stopTasks(); };
}
