// Fennel dashboard: hash routing (#/workers, #/tasks/ID, ...), one module per page, all data from the JSON API.
import { loadSession, session } from './api.js';
import { h, replace, message } from './dom.js';
import * as live from './live.js';
import * as overview from './pages/overview.js';
import * as workers from './pages/workers.js';
import * as worker from './pages/worker.js';
import * as tasks from './pages/tasks.js';
import * as task from './pages/task.js';
import * as queues from './pages/queues.js';
import * as deadLetters from './pages/dead-letters.js';

const routes = [
  { pattern: /^\/?$/, nav: 'overview', page: overview },
  { pattern: /^\/workers$/, nav: 'workers', page: workers },
  { pattern: /^\/workers\/(.+)$/, nav: 'workers', page: worker },
  { pattern: /^\/tasks$/, nav: 'tasks', page: tasks },
  { pattern: /^\/tasks\/(.+)$/, nav: 'tasks', page: task },
  { pattern: /^\/queues$/, nav: 'queues', page: queues },
  { pattern: /^\/dead-letters$/, nav: 'dead-letters', page: deadLetters },
];

let dispose = null;

/** The hash as a path and its query: "#/tasks?states=FAILURE" → ["/tasks", URLSearchParams]. */
function parseHash() {
  const hash = location.hash.replace(/^#/, '');
  const at = hash.indexOf('?');
  const path = at < 0 ? hash : hash.slice(0, at);
  return [path || '/', new URLSearchParams(at < 0 ? '' : hash.slice(at + 1))];
}

function route() {
  const [path, query] = parseHash();
  if (dispose) { try { dispose(); } catch (e) { console.error(e); } dispose = null; }
  const main = document.getElementById('main');
  const found = routes.map(r => ({ r, m: path.match(r.pattern) })).find(x => x.m);
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('current', !!found && a.dataset.route === found.r.nav);
  if (!found) {
    replace(main, h('h1', {}, 'Not found'), message('error', `There is no page "${path}".`), h('a', { href: '#/' }, 'Overview'));
    return;
  }
  const params = found.m.slice(1).map(p => { try { return decodeURIComponent(p); } catch { return p; } });
  replace(main);
  main.dataset.page = found.r.nav;
  try {
    dispose = found.r.page.render(main, params, query) || null;
  } catch (e) {
    replace(main, message('error', `This page failed: ${e.message}`));
    console.error(e);
  }
}

async function startup() {
  await loadSession();
  const user = document.getElementById('user');
  user.textContent = session.user ? (session.canAct ? session.user : `${session.user} (read-only)`) : '';
  document.body.classList.toggle('read-only', !session.canAct);
  window.addEventListener('hashchange', route);
  // A click on the page already shown reloads it (the hash does not change, so no hashchange comes).
  document.getElementById('nav').addEventListener('click', e => {
    const link = e.target.closest('a');
    if (link && link.getAttribute('href') === (location.hash || '#/')) route();
  });
  live.start();
  route();
}

startup();
