// Overview: workers, task counts by state, throughput per minute (an SVG chart built with DOM APIs) and queue depths.
import { get } from '../api.js';
import { h, svg, replace, setText, fmtTime, message, workerLink } from '../dom.js';
import * as live from '../live.js';

const Shown = ['RECEIVED', 'STARTED', 'SUCCESS', 'FAILURE', 'RETRY', 'REVOKED'];
const QueuesEvery = 15000;

function card(label, testid, href) {
  const value = h('div', { class: 'value', testid }, '–');
  const el = h(href ? 'a' : 'div', { class: 'card', href }, value, h('div', { class: 'label' }, label));
  return { el, value };
}

export function render(main) {
  let gone = false;
  const cards = {
    online: card('workers online', 'ov-online', '#/workers'),
    offline: card('workers offline', 'ov-offline', '#/workers'),
    active: card('tasks active', 'ov-active', '#/tasks?states=STARTED'),
    total: card('tasks in history', 'ov-total', '#/tasks'),
  };
  const states = Object.fromEntries(Shown.map(s => [s, card(s.toLowerCase(), `ov-state-${s.toLowerCase()}`, `#/tasks?states=${s}`)]));
  const chart = h('div', { class: 'chart', testid: 'ov-chart' });
  const queues = h('div', { testid: 'ov-queues' }, h('p', { class: 'muted' }, 'Asking the workers…'));
  main.append(
    h('h1', {}, 'Overview'),
    h('div', { class: 'cards' }, Object.values(cards).map(c => c.el)),
    h('div', { class: 'cards' }, Object.values(states).map(c => c.el)),
    h('h2', {}, 'Throughput (task events per minute, last 15 minutes)'), chart,
    h('div', { class: 'cols' },
      h('section', {}, h('h2', {}, 'Queues'), queues),
      h('section', {}, h('h2', {}, 'Workers'), h('ul', { class: 'plain', testid: 'ov-workers' }))));
  const workerList = main.querySelector('[data-testid="ov-workers"]');

  let chartData = null;
  function show(s) {
    const o = s.overview;
    if (!o) return;
    setText(cards.online.value, o.workers.online);
    setText(cards.offline.value, o.workers.offline);
    setText(cards.active.value, o.tasks.active);
    setText(cards.total.value, o.tasks.total);
    for (const st of Shown) setText(states[st].value, o.tasks.by_state[st] ?? 0);
    const minutes = JSON.stringify(o.throughput.per_minute);
    if (minutes !== chartData) {
      chartData = minutes;
      replace(chart, throughputChart(o.throughput.per_minute));
    }
    const ws = [...(s.workers || [])].sort((a, b) => Number(b.online) - Number(a.online) || (a.node < b.node ? -1 : 1));
    replace(workerList, ws.slice(0, 20).map(w => h('li', {}, h('span', { class: `dot ${w.online ? 'dot-on' : 'dot-off'}` }), workerLink(w.node),
      h('span', { class: 'muted' }, w.online ? ` active ${w.active ?? 0}, processed ${w.processed ?? 0}` : ' offline'))),
    ws.length > 20 ? h('li', {}, h('a', { href: '#/workers' }, `and ${ws.length - 20} more`)) : null,
    ws.length ? null : h('li', { class: 'muted' }, 'No worker seen yet.'));
  }

  async function loadQueues() {
    try {
      const r = await get('api/queues');
      if (gone) return;
      const list = r.queues || [];
      replace(queues, list.length
        ? h('table', { class: 'grid', testid: 'ov-queues-table' }, h('tbody', {}, list.map(x => h('tr', {},
          h('td', {}, x.name), h('td', { class: 'num' }, x.messages ?? '?'), h('td', { class: 'muted' }, `${(x.consumers || []).length} consumer(s)`)))))
        : h('p', { class: 'muted' }, 'No queue known.'));
    } catch (e) {
      if (!gone) replace(queues, message('error', e.message));
    }
  }

  get('api/overview?minutes=15').then(overview => { if (!gone && !live.latest()) show({ overview, workers: [] }); },
    e => { if (!gone) chart.replaceChildren(message('error', e.message)); });
  loadQueues();
  const timer = setInterval(loadQueues, QueuesEvery);
  const unsubscribe = live.subscribe(show);
  return () => { gone = true; clearInterval(timer); unsubscribe(); };
}

/** Bars per minute: failures (red) on top of the rest (green); the axis says the peak and the time span. */
export function throughputChart(perMinute) {
  const width = 720;
  const height = 140;
  const left = 36;
  const bottom = 18;
  const plotH = height - bottom - 6;
  const n = perMinute.length || 1;
  const peak = Math.max(1, ...perMinute.map(m => m.total));
  const slot = (width - left) / n;
  const bar = Math.max(1, slot - 2);
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', height, role: 'img', 'aria-label': 'Task events per minute', class: 'throughput' });
  root.append(
    svg('line', { x1: left, y1: 6 + plotH, x2: width, y2: 6 + plotH, class: 'axis' }),
    svg('text', { x: left - 4, y: 14, 'text-anchor': 'end', class: 'tick' }, String(peak)),
    svg('text', { x: left - 4, y: 6 + plotH, 'text-anchor': 'end', class: 'tick' }, '0'));
  perMinute.forEach((m, i) => {
    const failed = (m.by_state.FAILURE ?? 0) + (m.by_state.REVOKED ?? 0) + (m.by_state.REJECTED ?? 0);
    const rest = m.total - failed;
    const x = left + i * slot + 1;
    const hRest = (rest / peak) * plotH;
    const hFail = (failed / peak) * plotH;
    const title = svg('title', {}, `${fmtTime(m.minute).slice(11, 16)}: ${m.total} (${Object.entries(m.by_state).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'})`);
    const g = svg('g', {}, title);
    if (rest > 0) g.append(svg('rect', { x, y: 6 + plotH - hRest, width: bar, height: hRest, class: 'bar-ok' }));
    if (failed > 0) g.append(svg('rect', { x, y: 6 + plotH - hRest - hFail, width: bar, height: hFail, class: 'bar-fail' }));
    g.append(svg('rect', { x, y: 6, width: bar, height: plotH, class: 'bar-hover' }));
    root.append(g);
  });
  if (perMinute.length) {
    root.append(
      svg('text', { x: left, y: height - 4, class: 'tick' }, fmtTime(perMinute[0].minute).slice(11, 16)),
      svg('text', { x: width, y: height - 4, 'text-anchor': 'end', class: 'tick' }, `${fmtTime(perMinute[perMinute.length - 1].minute).slice(11, 16)} (now)`));
  }
  return root;
}
