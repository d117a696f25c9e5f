// Building the page with DOM APIs only: text always goes in as text nodes, never as markup.

/** An element: h('a', {href: '#/x', class: 'c', testid: 't', onclick: fn}, 'text', child, [more]). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttributes(el, attrs);
  append(el, children);
  return el;
}

/** An SVG element (for the throughput chart). */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v != null) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

function setAttributes(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'testid') el.dataset.testid = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'checked' || k === 'disabled' || k === 'value' || k === 'selected' || k === 'hidden') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

/** Appends children: nodes as they are, anything else as text. */
export function append(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Sets text only when it changed (live updates leave unchanged cells alone). */
export function setText(el, text) {
  const value = text == null ? '' : String(text);
  if (el.textContent !== value) el.textContent = value;
}

export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function fmtAgo(iso, now = Date.now()) {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function fmtRuntime(seconds) {
  if (seconds == null) return '';
  return seconds < 1 ? `${(seconds * 1000).toFixed(1)} ms` : `${seconds.toFixed(3)} s`;
}

/** A state badge: <span class="state state-failure">FAILURE</span>. */
export function stateBadge(state) {
  return h('span', { class: `state state-${String(state || 'unknown').toLowerCase()}`, testid: 'state' }, state || '?');
}

/** A message box; kind is 'error', 'ok' or 'info'. */
export function message(kind, text, testid) {
  return h('div', { class: `msg msg-${kind}`, role: kind === 'error' ? 'alert' : 'status', testid: testid || `msg-${kind}` }, text);
}

/** A definition list from [label, value] pairs, leaving out empty values. */
export function facts(pairs, testid) {
  const dl = h('dl', { class: 'facts', testid });
  for (const [label, value] of pairs) {
    if (value == null || value === '') continue;
    dl.append(h('dt', {}, label), h('dd', { dataset: { fact: label } }, value));
  }
  return dl;
}

export function taskLink(id, text) {
  return h('a', { href: `#/tasks/${encodeURIComponent(id)}`, class: 'mono', testid: 'task-link' }, text ?? id);
}

export function workerLink(node) {
  return h('a', { href: `#/workers/${encodeURIComponent(node)}`, testid: 'worker-link' }, node);
}
