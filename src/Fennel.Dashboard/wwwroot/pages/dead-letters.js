// Dead letters: the messages the broker keeps aside with the reason; inspect one, requeue one / selected / all, purge.
import { get, post, q, session } from '../api.js';
import { h, replace, facts, fmtTime, message, taskLink } from '../dom.js';
import { confirmAction } from '../confirm.js';

const RefreshEvery = 10000;

export function render(main) {
  let gone = false;
  const selected = new Set();
  let items = [];
  const outcome = h('div', { testid: 'dead-letter-result' });
  const body = h('div', { testid: 'dead-letters' }, h('p', { class: 'muted' }, 'Loading…'));
  const inspector = h('div', { testid: 'dead-letter-inspector' });
  const requeueSelected = h('button', { type: 'button', testid: 'dl-requeue-selected', onclick: () => requeue([...selected]) }, 'Requeue selected');
  const requeueAll = h('button', { type: 'button', testid: 'dl-requeue-all', onclick: () => requeue(null) }, 'Requeue all');
  const purge = h('button', { type: 'button', class: 'danger', testid: 'dl-purge', onclick: purgeAll }, 'Purge all');
  const refresh = h('button', { type: 'button', testid: 'dl-refresh', onclick: () => load() }, 'Refresh');
  const toolbar = h('div', { class: 'toolbar' }, refresh, requeueSelected, requeueAll, purge,
    session.canAct ? null : h('span', { class: 'muted' }, 'Read-only user: actions are disabled.'));
  main.append(h('h1', {}, 'Dead letters'), toolbar, outcome, body, inspector);

  function refreshButtons() {
    requeueSelected.disabled = !session.canAct || selected.size === 0;
    requeueAll.disabled = purge.disabled = !session.canAct || items.length === 0;
  }

  const label = d => `${d.task ?? 'message'}${d.task_id ? ` [${d.task_id}]` : ''} on ${d.queue} (${d.id})`;

  async function requeue(ids) {
    const targets = ids ? items.filter(d => ids.includes(d.id)) : items;
    const title = ids ? `Requeue ${ids.length} dead letter${ids.length === 1 ? '' : 's'}` : 'Requeue every dead letter';
    if (!await confirmAction(title, 'Each message goes back to the queue it came from, its delivery count reset.', targets.map(label), 'Requeue')) return;
    try {
      const r = await post('api/dead-letters/requeue', ids ? { ids } : { all: true });
      const missing = r.missing?.length ? `; no longer there: ${r.missing.join(', ')}` : '';
      const bound = r.stopped_at_bound ? ' It stopped at its bound: requeue all again for the rest.' : '';
      replace(outcome, message('ok', `Requeued ${r.requeued}${missing}.${bound}`, 'dl-requeued'));
      selected.clear();
      load();
    } catch (e) {
      replace(outcome, message('error', e.message, 'dl-action-error'));
    }
  }

  async function purgeAll() {
    if (!await confirmAction('Purge every dead letter', 'They are deleted for good.', items.map(label), 'Purge')) return;
    try {
      const r = await post('api/dead-letters/purge', {});
      replace(outcome, message('ok', `Purged ${r.purged} dead letter(s).`, 'dl-purged'));
      load();
    } catch (e) {
      replace(outcome, message('error', e.message, 'dl-action-error'));
    }
  }

  async function inspect(id) {
    replace(inspector, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const d = await get(`api/dead-letters/${q(id)}`);
      if (gone) return;
      replace(inspector, h('section', { class: 'panel' },
        h('h2', {}, `Dead letter ${d.id}`),
        facts([['Queue', d.queue], ['Reason', d.reason], ['When', fmtTime(d.dead_lettered_at)], ['Deliveries', d.delivery_count],
          ['Task', d.task], ['Task id', d.task_id ? taskLink(d.task_id) : ''], ['Args', d.args], ['Kwargs', d.kwargs], ['Size', d.size != null ? `${d.size} bytes` : '']], 'dl-facts'),
        h('h3', {}, 'Headers'), h('pre', { testid: 'dl-headers' }, d.headers == null ? '(none)' : JSON.stringify(d.headers, null, 2)),
        h('h3', {}, d.body_encoding === 'base64' ? 'Body (base64: not UTF-8 text)' : 'Body'),
        d.body == null && d.body_hidden
          ? h('p', { class: 'muted', testid: 'dl-body-hidden' }, d.body_hidden)
          : h('pre', { testid: 'dl-body' }, d.body ?? '')));
    } catch (e) {
      replace(inspector, message('error', e.message, 'dl-inspect-error'));
    }
  }

  async function load() {
    try {
      const r = await get('api/dead-letters?limit=100');
      if (gone) return;
      items = r.dead_letters || [];
      for (const id of [...selected]) if (!items.some(d => d.id === id)) selected.delete(id);
      if (r.supported === false) {
        replace(body, message('info', 'This broker keeps no dead letters (no dead-letter store).', 'dl-unsupported'));
      } else if (!items.length) {
        replace(body, h('p', { class: 'muted', testid: 'dl-empty' }, 'No dead letters.'));
      } else {
        replace(body, h('table', { class: 'grid', testid: 'dl-table' },
          h('thead', {}, h('tr', {}, h('th', { class: 'check' }, ''), h('th', {}, 'When'), h('th', {}, 'Queue'), h('th', {}, 'Task'),
            h('th', {}, 'Reason'), h('th', { class: 'num' }, 'Deliveries'), h('th', { class: 'num' }, 'Size'), h('th', {}, ''))),
          h('tbody', {}, items.map(d => {
            const box = h('input', { type: 'checkbox', testid: 'dl-select', checked: selected.has(d.id), 'aria-label': `Select ${d.id}`,
              onchange: () => { if (box.checked) selected.add(d.id); else selected.delete(d.id); refreshButtons(); } });
            return h('tr', { testid: 'dl-row', dataset: { id: d.id } },
              h('td', { class: 'check' }, box),
              h('td', {}, fmtTime(d.dead_lettered_at)),
              h('td', {}, d.queue),
              h('td', {}, d.task ?? '', d.task_id ? [' ', taskLink(d.task_id, `${d.task_id.slice(0, 8)}…`)] : null),
              h('td', { testid: 'dl-reason' }, d.reason),
              h('td', { class: 'num' }, d.delivery_count),
              h('td', { class: 'num' }, d.size ?? ''),
              h('td', {},
                h('button', { type: 'button', testid: 'dl-inspect', onclick: () => inspect(d.id) }, 'Inspect'), ' ',
                h('button', { type: 'button', testid: 'dl-requeue', disabled: !session.canAct, onclick: () => requeue([d.id]) }, 'Requeue')));
          }))));
      }
      refreshButtons();
    } catch (e) {
      if (!gone) { items = []; replace(body, message('error', e.message, 'dl-error')); refreshButtons(); }
    }
  }

  refreshButtons();
  load();
  const timer = setInterval(load, RefreshEvery);
  return () => { gone = true; clearInterval(timer); };
}
