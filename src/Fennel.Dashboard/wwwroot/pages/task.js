// One task: arguments, result or exception with its traceback, the event timeline, retries, parent and children;
// revoke, terminate and re-send.
import { get, post, q, session } from '../api.js';
import { h, replace, facts, fmtTime, fmtRuntime, message, stateBadge, taskLink, workerLink } from '../dom.js';
import { confirmAction } from '../confirm.js';
import * as live from '../live.js';

export function render(main, [id]) {
  let gone = false;
  const body = h('div', { testid: 'task-detail' }, h('p', { class: 'muted' }, 'Loading…'));
  const outcome = h('div', { testid: 'task-action-result' });
  const button = (testid, label, onclick, danger) => h('button', { type: 'button', testid, onclick, class: danger ? 'danger' : '', disabled: !session.canAct }, label);
  const actions = h('div', { class: 'row', testid: 'task-actions' },
    button('task-revoke', 'Revoke', () => revoke(false)),
    button('task-terminate', 'Terminate', () => revoke(true), true),
    button('task-resend', 'Re-send as a new task', resend),
    session.canAct ? null : h('span', { class: 'muted' }, 'Read-only user: actions are disabled.'));
  main.append(h('p', { class: 'crumbs' }, h('a', { href: '#/tasks' }, 'Tasks'), ' / '), h('h1', { testid: 'task-title' }, id), actions, outcome, body);

  async function revoke(terminate) {
    const what = terminate ? 'Terminate the task' : 'Revoke the task';
    const text = terminate
      ? 'Workers will not start it, and the worker running it kills it now (the pool process is signalled).'
      : 'Workers will not start it; if it is already running it finishes.';
    if (!await confirmAction(what, text, [id], terminate ? 'Terminate' : 'Revoke')) return;
    try {
      await post(`api/tasks/${q(id)}/revoke`, { terminate });
      replace(outcome, message('ok', `${what}: sent to every worker.`, 'task-action-ok'));
    } catch (e) {
      replace(outcome, message('error', e.message, 'task-action-error'));
    }
  }

  async function resend() {
    if (!await confirmAction('Re-send the task', 'A new task with the same name, arguments and queue is sent; this one stays as it is.', [id], 'Re-send')) return;
    try {
      const sent = await post(`api/tasks/${q(id)}/resend`, {});
      replace(outcome, h('div', { class: 'msg msg-ok', testid: 'task-action-ok' }, 'Sent as a new task: ', taskLink(sent.id),
        sent.queue ? ` on ${sent.queue}` : ''));
    } catch (e) {
      replace(outcome, message('error', e.message, 'task-action-error'));
    }
  }

  async function load() {
    try {
      const d = await get(`api/tasks/${q(id)}`);
      if (!gone) show(d);
    } catch (e) {
      if (!gone) replace(body, message('error', e.message, 'task-error'));
    }
  }

  function show(d) {
    const t = d.task;
    const first = d.timeline.length ? new Date(d.timeline[0].time).getTime() : null;
    replace(body,
      h('div', { class: 'cols' },
        h('section', {}, facts([
          ['Name', h('span', { testid: 'task-name' }, t.name ?? '')], ['State', stateBadge(t.state)], ['State since', fmtTime(t.state_time)],
          ['Worker', t.worker ? workerLink(t.worker) : ''], ['Queue', t.queue], ['Routing key', d.routing_key],
          ['Retries', t.retries], ['ETA', t.eta], ['Expires', t.expires], ['Runtime', fmtRuntime(t.runtime)],
          ['Terminated', d.terminated ? 'yes' : ''], ['Expired', d.expired ? 'yes' : ''], ['Client', d.client],
        ], 'task-facts')),
        h('section', {}, facts([
          ['Parent', t.parent_id ? taskLink(t.parent_id) : ''], ['Root', t.root_id && t.root_id !== t.id ? taskLink(t.root_id) : ''],
          ['Sent', fmtTime(t.sent_at)], ['Received', fmtTime(t.received_at)], ['Started', fmtTime(t.started_at)],
          ['Finished', fmtTime(t.finished_at)], ['Last updated', fmtTime(t.last_updated)],
        ], 'task-times'))),
      h('h2', {}, 'Arguments'),
      h('h3', {}, 'args'), h('pre', { testid: 'task-args' }, t.args ?? '(not known)'),
      h('h3', {}, 'kwargs'), h('pre', { testid: 'task-kwargs' }, t.kwargs ?? '(not known)'),
      t.result != null ? [h('h2', {}, 'Result'), h('pre', { testid: 'task-result' }, t.result)] : null,
      t.exception != null ? [h('h2', {}, 'Exception'), h('pre', { class: 'error-text', testid: 'task-exception' }, t.exception)] : null,
      d.traceback ? [h('h2', {}, 'Traceback'), h('pre', { class: 'error-text', testid: 'task-traceback' }, d.traceback)] : null,
      h('h2', {}, 'Timeline'),
      h('table', { class: 'grid', testid: 'task-timeline' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Event'), h('th', {}, 'Time'), h('th', { class: 'num' }, '+'), h('th', {}, 'Host'))),
        h('tbody', {}, d.timeline.map(e => h('tr', { testid: 'timeline-row' },
          h('td', {}, e.type), h('td', {}, fmtTime(e.time)),
          h('td', { class: 'num' }, first == null ? '' : fmtRuntime((new Date(e.time).getTime() - first) / 1000)),
          h('td', {}, e.hostname))))),
      d.children.length ? [h('h2', {}, 'Children'),
        h('table', { class: 'grid', testid: 'task-children' },
          h('tbody', {}, d.children.map(c => h('tr', {}, h('td', {}, taskLink(c.id)), h('td', {}, c.name ?? ''), h('td', {}, stateBadge(c.state))))))] : null);
  }

  load();
  const stop = live.onTasksChanged(load);
  return () => { gone = true; stop(); };
}
