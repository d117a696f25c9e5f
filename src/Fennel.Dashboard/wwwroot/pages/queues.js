// Queues: depth, consumers and dead letters (GET api/queues); purge one with confirmation.
import { get, post, q, session } from '../api.js';
import { h, replace, message, workerLink } from '../dom.js';
import { confirmAction } from '../confirm.js';

const RefreshEvery = 10000;

export function render(main) {
  let gone = false;
  const outcome = h('div', { testid: 'queue-action-result' });
  const body = h('div', { testid: 'queues' }, h('p', { class: 'muted' }, 'Asking the workers which queues they consume…'));
  main.append(h('h1', {}, 'Queues'), outcome, body);

  async function purge(name, messages) {
    const count = messages == null ? 'every' : `its ${messages}`;
    if (!await confirmAction(`Purge queue ${name}`, `Deletes ${count} ready message(s) from the broker. They cannot be brought back.`, [name], 'Purge')) return;
    try {
      const r = await post(`api/queues/${q(name)}/purge`, {});
      replace(outcome, message('ok', `Purged ${r.purged} message(s) from ${r.queue ?? name}.`, 'queue-purged'));
      load();
    } catch (e) {
      replace(outcome, message('error', e.message, 'queue-action-error'));
    }
  }

  const rate = n => (n >= 10 ? Math.round(n).toString() : n.toFixed(1));

  async function load() {
    try {
      const r = await get('api/queues');
      if (gone) return;
      const queues = r.queues || [];
      const hasDead = queues.some(x => x.dead_letters != null);
      replace(body, queues.length
        ? h('table', { class: 'grid', testid: 'queues-table' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Queue'), h('th', { class: 'num' }, 'Ready'), h('th', { class: 'num', title: 'tasks sent per minute, last 5 minutes' }, 'Sent / min'), h('th', {}, 'Consumers'),
            hasDead ? h('th', { class: 'num' }, 'Dead letters') : null, h('th', {}, ''))),
          h('tbody', {}, queues.map(x => h('tr', { testid: 'queue-row', dataset: { queue: x.name } },
            h('td', {}, x.name),
            h('td', { class: 'num', testid: 'queue-messages' }, x.messages ?? (x.error ? 'unknown' : '')),
            h('td', { class: 'num', testid: 'queue-rate' }, x.per_minute != null ? rate(x.per_minute) : ''),
            h('td', {}, (x.consumers || []).length ? (x.consumers || []).flatMap((n, i) => [i ? ', ' : null, workerLink(n)]) : h('span', { class: 'muted' }, 'none')),
            hasDead ? h('td', { class: 'num' }, x.dead_letters != null ? h('a', { href: '#/dead-letters' }, String(x.dead_letters)) : '') : null,
            h('td', {}, x.error ? h('span', { class: 'error-text' }, x.error) : null,
              h('button', { type: 'button', class: 'danger', testid: 'queue-purge', disabled: !session.canAct, onclick: () => purge(x.name, x.messages) }, 'Purge'))))))
        : h('p', { class: 'muted' }, 'No queue known: no worker answered active_queues.'));
    } catch (e) {
      if (!gone) replace(body, message('error', e.message, 'queues-error'));
    }
  }

  load();
  const timer = setInterval(load, RefreshEvery);
  return () => { gone = true; clearInterval(timer); };
}
