/* assay dashboard: the shell. Log in with a token, keep the CSRF token in
 * memory, route on the URL hash to one page module at a time.
 * Every string from the server (model outputs, catalog text, names) is put
 * into the page with textContent or as an attribute value, never as HTML. */
'use strict';

const assay = {
  user: null,
  csrf: null,
  pages: {},
  charts: [],
  onKey: null,      /* the current page's keyboard handler */
};

/* el('td', {class: 'num'}, 'text', child, ...): build an element. Strings
 * become text nodes; attributes named on* add listeners. */
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = String(v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'value') e.value = v;
    else if (k === 'checked') e.checked = !!v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === undefined || kid === null || kid === false) continue;
    e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return e;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

function fmt(x, digits) {
  if (x === undefined || x === null || Number.isNaN(x)) return '–';
  if (typeof x !== 'number') return String(x);
  return x.toFixed(digits === undefined ? 3 : digits);
}

function toast(msg) {
  const t = document.getElementById('toast');
  t.textContent = msg;
  t.classList.add('show');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove('show'), 3500);
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/* Call the JSON API. State changes carry the CSRF token. */
async function api(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  if (method !== 'GET' && assay.csrf) opts.headers['X-CSRF-Token'] = assay.csrf;
  const res = await fetch('/api/v1' + path, opts);
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (!res.ok) {
    const err = (data && data.error) || {};
    if (res.status === 401 && path !== '/session') showLogin();
    throw new ApiError(res.status, err.code || 'error', err.message || res.statusText);
  }
  return data;
}

function qs(params) {
  const parts = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(v));
  }
  return parts.length ? '?' + parts.join('&') : '';
}

/* The current route: '#/runs/12?x=1' -> {parts: ['runs', '12'], params}. */
function route() {
  const h = location.hash.replace(/^#\/?/, '');
  const [path, query] = h.split('?');
  const params = new URLSearchParams(query || '');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params };
}

function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function destroyCharts() {
  for (const c of assay.charts) c.destroy();
  assay.charts = [];
}

function showError(main, e) {
  main.append(el('p', { class: 'error', role: 'alert' }, e.message || String(e)));
}

function can(perm) {
  const r = assay.user && assay.user.role;
  if (perm === 'edit') return r === 'admin' || r === 'editor';
  if (perm === 'rate') return r === 'admin' || r === 'editor' || r === 'rater';
  if (perm === 'admin') return r === 'admin';
  return !!r;
}

function pager(offset, limit, count, onPage) {
  return el('div', { class: 'pager' },
    el('button', { class: 'secondary', type: 'button', disabled: offset <= 0,
      onclick: () => onPage(Math.max(0, offset - limit)) }, 'Previous'),
    el('span', { class: 'muted' }, `${count ? offset + 1 : 0}–${offset + count}`),
    el('button', { class: 'secondary', type: 'button', disabled: count < limit,
      onclick: () => onPage(offset + limit) }, 'Next'));
}

function showLogin(message) {
  assay.user = null;
  assay.csrf = null;
  destroyCharts();
  document.getElementById('whoami').textContent = '';
  document.getElementById('logout').hidden = true;
  const main = clear(document.getElementById('main'));
  const input = el('input', { type: 'password', id: 'token', autocomplete: 'off',
    placeholder: 'as_…', 'aria-label': 'API token' });
  const err = el('p', { class: 'error', id: 'login-error' }, message || '');
  const form = el('form', { class: 'card login', id: 'login-form' },
    el('h1', {}, 'Log in to assay'),
    el('label', { for: 'token' }, 'API token (from "assay user add" or the first start)'),
    input, err,
    el('button', { type: 'submit' }, 'Log in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const u = await api('POST', '/session', { token: input.value.trim() });
      setUser(u);
      render();
    } catch (e) {
      err.textContent = e.message;
    }
  });
  main.append(form);
  input.focus();
}

function setUser(u) {
  assay.user = u;
  assay.csrf = u.csrf;
  document.getElementById('whoami').textContent = `${u.name} (${u.role})`;
  document.getElementById('logout').hidden = false;
  document.getElementById('nav-users').hidden = u.role !== 'admin';
}

async function render() {
  if (!assay.user) return;
  destroyCharts();
  assay.onKey = null;
  const r = route();
  const name = r.parts[0] || 'leaderboard';
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.dataset.page === name);
  }
  /* Each render draws into its own box: a slower, older render that is
   * still loading draws into a box no longer on the page. */
  const main = el('div', { class: 'page' });
  clear(document.getElementById('main')).append(main);
  const page = assay.pages[name];
  if (!page) {
    main.append(el('p', { class: 'error' }, 'No such page.'));
    return;
  }
  try {
    await page(main, r);
  } catch (e) {
    showError(main, e);
  }
}

async function start() {
  document.getElementById('logout').addEventListener('click', async () => {
    try { await api('DELETE', '/session'); } catch (e) { /* already gone */ }
    showLogin();
  });
  window.addEventListener('hashchange', render);
  document.addEventListener('keydown', (ev) => { if (assay.onKey) assay.onKey(ev); });
  try {
    setUser(await api('GET', '/session'));
    render();
  } catch (e) {
    showLogin();
  }
}

document.addEventListener('DOMContentLoaded', start);
