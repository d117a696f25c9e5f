// Live updates: one snapshot a second from GET api/live (server-sent events, aggregated on the server). Where the
// stream is missing or broken, the same snapshot is polled from api/overview and api/workers every few seconds.
import { get } from './api.js';

const listeners = new Set();
let last = null;
let status = null;
let source = null;
let pollTimer = null;
const PollEvery = 3000;
const RetryStreamEvery = 30000;

function setStatus(text, kind) {
  status = text;
  const el = document.getElementById('live');
  if (el) {
    el.textContent = text;
    el.className = `live live-${kind}`;
    el.title = kind === 'live' ? 'Updates stream from api/live' : kind === 'polling' ? 'The live stream is unavailable; polling the API' : '';
  }
}

function publish(snapshot) {
  last = snapshot;
  for (const fn of listeners) {
    try { fn(snapshot); } catch (e) { console.error('live update failed', e); }
  }
}

/** Calls fn with every snapshot (now with the last one, if any); returns the unsubscribe function. */
export function subscribe(fn) {
  listeners.add(fn);
  if (last) fn(last);
  return () => listeners.delete(fn);
}

export function latest() {
  return last;
}

export function start() {
  if (typeof EventSource === 'undefined') { startPolling(); return; }
  source = new EventSource('api/live');
  source.addEventListener('open', () => { stopPolling(); setStatus('live', 'live'); });
  source.addEventListener('snapshot', e => {
    try { publish(JSON.parse(e.data)); } catch (err) { console.error('bad snapshot', err); }
  });
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) {
      // Not an event stream (404, 401, 500...): poll, and try the stream again later.
      source.close();
      source = null;
      startPolling();
      setTimeout(() => { if (!source) start(); }, RetryStreamEvery);
    } else {
      setStatus('reconnecting', 'down');
    }
  });
}

function startPolling() {
  setStatus('polling', 'polling');
  if (pollTimer) return;
  const poll = async () => {
    try {
      const [overview, workers] = await Promise.all([get('api/overview?minutes=15'), get('api/workers')]);
      publish({ overview, workers: workers.workers, tasks_version: null, time: new Date().toISOString() });
      if (pollTimer) setStatus('polling', 'polling');
    } catch (e) {
      setStatus('offline', 'down');
      console.error(e);
    }
  };
  pollTimer = setInterval(poll, PollEvery);
  poll();
}

function stopPolling() {
  if (pollTimer) clearInterval(pollTimer);
  pollTimer = null;
}

/**
 * Calls fn when the task history changed (tasks_version grew; every poll when there is no stream), at most once
 * every minGap ms. Returns the unsubscribe function.
 */
export function onTasksChanged(fn, minGap = 2000) {
  let seen;
  let lastRun = Date.now();
  let timer = null;
  const run = () => { timer = null; lastRun = Date.now(); fn(); };
  const unsubscribe = subscribe(s => {
    const version = s.tasks_version;
    if (seen === undefined) { seen = version; if (version != null) return; }
    if (version != null && version === seen) return;
    seen = version;
    if (timer) return;
    const wait = lastRun + minGap - Date.now();
    if (wait <= 0) run(); else timer = setTimeout(run, wait);
  });
  return () => { unsubscribe(); if (timer) clearTimeout(timer); };
}
