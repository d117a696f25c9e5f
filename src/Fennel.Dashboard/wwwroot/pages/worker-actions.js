// The worker actions, for a selection (workers page) or one node (worker page): confirm naming every node, POST,
// then each node's result.
import { post, session } from '../api.js';
import { h, replace, message } from '../dom.js';
import { confirmAction } from '../confirm.js';

const Actions = [
  { action: 'shutdown', label: 'Warm shutdown', title: 'Warm shutdown', danger: true,
    text: 'Each worker stops taking new tasks, finishes the ones it is running and exits (a supervisor may start it again).' },
  { action: 'pool_restart', label: 'Restart pool', title: 'Pool restart', text: 'Each worker restarts its pool processes.' },
  { action: 'pool_grow', label: 'Grow', title: 'Grow the pool', needs: ['n'], text: 'Each worker adds n pool processes.' },
  { action: 'pool_shrink', label: 'Shrink', title: 'Shrink the pool', needs: ['n'], text: 'Each worker removes n pool processes.' },
  { action: 'add_consumer', label: 'Add consumer', title: 'Add a consumer', needs: ['queue'], text: 'Each worker starts consuming the queue.' },
  { action: 'cancel_consumer', label: 'Cancel consumer', title: 'Cancel a consumer', needs: ['queue'], text: 'Each worker stops consuming the queue.' },
  { action: 'rate_limit', label: 'Set rate limit', title: 'Set a rate limit', needs: ['task_name', 'rate_limit'],
    text: 'Each worker limits the task to the rate (e.g. 10/m; 0 removes the limit).' },
];

/**
 * The actions panel. targets() returns the chosen nodes; returns {element, refresh()} where refresh() re-enables the
 * buttons for the current selection.
 */
export function workerActions(targets) {
  const n = h('input', { type: 'number', min: 1, value: '1', class: 'narrow', testid: 'action-n', 'aria-label': 'n processes' });
  const queue = h('input', { type: 'text', placeholder: 'queue', testid: 'action-queue', 'aria-label': 'queue' });
  const taskName = h('input', { type: 'text', placeholder: 'task name', testid: 'action-task-name', 'aria-label': 'task name' });
  const rate = h('input', { type: 'text', placeholder: '10/m', class: 'narrow', testid: 'action-rate', 'aria-label': 'rate limit' });
  const results = h('div', { class: 'results', testid: 'action-results-box' });
  const buttons = [];

  const button = spec => {
    const b = h('button', { type: 'button', class: spec.danger ? 'danger' : '', testid: `action-${spec.action}`, onclick: () => run(spec) }, spec.label);
    buttons.push(b);
    return b;
  };

  async function run(spec) {
    const nodes = targets();
    if (!nodes.length) return;
    const args = {};
    const describe = [];
    if (spec.needs?.includes('n')) {
      const count = parseInt(n.value, 10);
      if (!(count >= 1)) { replace(results, message('error', 'n must be a whole number, at least 1.')); return; }
      args.n = count;
      describe.push(`n = ${count}`);
    }
    if (spec.needs?.includes('queue')) {
      if (!queue.value.trim()) { replace(results, message('error', 'Name the queue first.')); queue.focus(); return; }
      args.queue = queue.value.trim();
      describe.push(`queue ${args.queue}`);
    }
    if (spec.needs?.includes('task_name')) {
      if (!taskName.value.trim() || !rate.value.trim()) { replace(results, message('error', 'Give the task name and the rate.')); return; }
      args.task_name = taskName.value.trim();
      args.rate_limit = rate.value.trim();
      describe.push(`task ${args.task_name} at ${args.rate_limit}`);
    }
    const what = `${spec.title}${describe.length ? ` (${describe.join(', ')})` : ''} of ${nodes.length} worker${nodes.length === 1 ? '' : 's'}`;
    if (!await confirmAction(what, spec.text, nodes, spec.label)) return;
    replace(results, message('info', `${what}: sending…`));
    try {
      const answer = await post(`api/workers/${spec.action}`, { nodes, arguments: args });
      replace(results, h('h3', {}, what), resultsTable(answer.results || []));
    } catch (e) {
      replace(results, message('error', e.message, 'action-error'));
    }
  }

  const element = h('section', { class: 'actions', testid: 'worker-actions' },
    h('div', { class: 'row' }, button(Actions[0]), button(Actions[1])),
    h('div', { class: 'row' }, h('label', {}, 'n ', n), button(Actions[2]), button(Actions[3])),
    h('div', { class: 'row' }, queue, button(Actions[4]), button(Actions[5])),
    h('div', { class: 'row' }, taskName, rate, button(Actions[6])),
    session.canAct ? null : h('p', { class: 'muted', testid: 'read-only-note' }, 'Read-only user: actions are disabled.'),
    results);

  const refresh = () => {
    const none = targets().length === 0;
    for (const b of buttons) b.disabled = none || !session.canAct;
  };
  refresh();
  return { element, refresh };
}

const StatusText = { ok: 'ok', error: 'error', no_reply: 'no reply', sent: 'sent' };

function resultsTable(results) {
  if (!results.length) return message('info', 'No node replied.');
  return h('table', { class: 'grid', testid: 'action-results' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Node'), h('th', {}, 'Result'), h('th', {}, 'Reply'))),
    h('tbody', {}, results.map(r => h('tr', { testid: 'action-result', dataset: { node: r.node, status: r.status } },
      h('td', {}, r.node),
      h('td', {}, h('span', { class: `result result-${r.status}` }, StatusText[r.status] || r.status)),
      h('td', { class: 'mono' }, r.reply == null ? '' : JSON.stringify(r.reply))))));
}
