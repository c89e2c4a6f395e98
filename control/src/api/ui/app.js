// The operator page of cdnbroker's control component. Everything goes through the JSON
// API with the token as a bearer credential; the page keeps no state the server does not
// have, apart from the token (sessionStorage: gone when the tab closes) and what it last
// showed (to highlight changed plan weights).
'use strict';

const REFRESH_MS = 3000;
const HIGHLIGHT_MS = 10000;
const TOKEN_KEY = 'cdnbroker-control-token';

const $ = (id) => document.getElementById(id);

let token = sessionStorage.getItem(TOKEN_KEY);
let timer = null;
let refreshing = null;
const last = { state: null, routing: null, weights: new Map(), routingDirty: false };

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// One API call; JSON answers are parsed, errors carry the server's `error` text.
async function api(method, path, body) {
  const headers = { Authorization: 'Bearer ' + token };
  if (body !== undefined) headers['Content-Type'] = 'text/plain; charset=utf-8';
  const resp = await fetch(path, { method, headers, body, cache: 'no-store' });
  const text = await resp.text();
  let data = null;
  try { data = JSON.parse(text); } catch (_) { data = null; }
  if (!resp.ok) {
    const why = data && data.error ? data.error : (text.trim() || resp.statusText);
    throw new ApiError(resp.status, why);
  }
  return data === null ? text : data;
}

// A DOM element: el('td', {class: 'num'}, 'text', child...).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

const kbps = (n) => (n === null || n === undefined ? '—' : Math.round(n).toLocaleString('en-US'));
const age = (s) => (s === null || s === undefined ? 'never' : s < 120 ? s.toFixed(1) + ' s' : Math.round(s / 60) + ' min');

// ---- login

function showLogin(message) {
  stopRefresh();
  $('app').hidden = true;
  $('logout').hidden = true;
  $('login-view').hidden = false;
  $('summary').textContent = '';
  const err = $('login-error');
  err.textContent = message || '';
  err.hidden = !message;
}

function showApp() {
  $('login-view').hidden = true;
  $('login-error').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
}

function refusal(e) {
  if (e.status === 401) return '401 Unauthorized: the control component refused this token.';
  return 'Cannot reach the API: ' + e.message;
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  token = $('token').value;
  try {
    await refresh();
    sessionStorage.setItem(TOKEN_KEY, token);
    $('token').value = '';
    showApp();
    startRefresh();
  } catch (e) {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin(refusal(e));
  }
});

$('logout').addEventListener('click', () => {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin('');
});

function startRefresh() {
  stopRefresh();
  timer = setInterval(() => {
    refresh().catch((e) => {
      if (e.status === 401) {
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin(refusal(e));
      } else {
        $('refresh-error').textContent = 'Refresh failed: ' + e.message;
        $('refresh-error').hidden = false;
      }
    });
  }, REFRESH_MS);
}

function stopRefresh() {
  if (timer !== null) clearInterval(timer);
  timer = null;
}

// ---- refresh: state, routing tables and counters, drawn together

function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      const [state, routing, metrics, cluster, members] = await Promise.all([
        api('GET', '/api/state'),
        api('GET', '/api/routing'),
        fetch('/metrics', { cache: 'no-store' }).then((r) => (r.ok ? r.text() : '')),
        api('GET', '/api/cluster'),
        api('GET', '/api/members'),
      ]);
      last.state = state;
      last.routing = routing;
      draw(state, routing, parseMetrics(metrics));
      drawCluster(cluster, members);
      $('refresh-error').hidden = true;
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

function draw(state, routing, metrics) {
  $('summary').textContent = `plan generation ${state.generation} · up ${age(state.uptime_secs)} · ` +
    `refreshed ${new Date().toLocaleTimeString()}`;
  drawCdns(state);
  drawPlan(state.plan);
  fill($('regions').tBodies[0], state.regions.map((r) =>
    el('tr', { 'data-region': r.name }, el('td', {}, r.name), el('td', { class: 'num' }, r.prefixes))));
  fill($('engines').tBodies[0], state.engines.map((e) =>
    el('tr', { 'data-engine': e.addr },
      el('td', {}, e.addr), el('td', {}, e.connected ? 'yes' : 'no'),
      el('td', { class: 'num' }, e.plan_generation ?? '—'), el('td', { class: 'num' }, e.engine_generation ?? '—'),
      el('td', { class: 'num' }, `${e.transactions_ok} / ${e.transactions_failed}`),
      el('td', {}, e.last_error ?? ''))));
  drawCounters(state, metrics);
  drawCustomers(state);
  drawRouting(routing);
}

// ---- the replicas and members of a replicated control (hidden alone)

function drawCluster(cluster, members) {
  $('cluster').hidden = cluster.role === 'alone';
  if (cluster.role === 'alone') return;
  $('cluster-role').textContent = cluster.role;
  $('cluster-epoch').textContent = cluster.epoch ?? '—';
  const leader = $('cluster-leader');
  leader.textContent = cluster.role === 'leader' ? 'this replica' : (cluster.leader_api ?? 'none known');
  if (cluster.role !== 'leader' && cluster.leader_api) leader.href = cluster.leader_api;
  else leader.removeAttribute('href');
  fill($('members').tBodies[0], members.members.map((m) =>
    el('tr', { 'data-member': `${m.role} ${m.address}` },
      el('td', {}, m.role), el('td', {}, m.address), el('td', {}, m.node),
      el('td', { class: 'num' }, m.generation), el('td', { class: 'num' }, m.epoch ?? '—'))));
}

function drawCdns(state) {
  const regions = state.regions.map((r) => r.name);
  fill($('cdns').tBodies[0], state.cdns.map((c) => {
    const per = regions
      .filter((r) => c.coverage[r] || c.region_capacities_kbps[r] || c.region_loads_kbps[r])
      .map((r) => el('div', { 'data-region': r },
        `${r}: ${c.coverage[r] ?? 0} · ${kbps(c.region_capacities_kbps[r])} · ${kbps(c.region_loads_kbps[r])}`));
    return el('tr', { 'data-cdn': c.name, class: c.status === 'available' ? null : 'unavailable' },
      el('td', {}, c.name),
      el('td', { 'data-field': 'status' }, c.status + (c.stale ? ' (stale)' : '')),
      el('td', { class: 'num', 'data-field': 'capacity' }, kbps(c.capacity_kbps)),
      el('td', { class: 'num', 'data-field': 'reserved' }, kbps(c.reserved_kbps)),
      el('td', { class: 'num', 'data-field': 'planned' }, kbps(c.planned_capacity_kbps)),
      el('td', { class: 'num', 'data-field': 'load' }, kbps(c.load_kbps)),
      el('td', { 'data-field': 'regions' }, per),
      el('td', { 'data-field': 'feedback' }, age(c.feedback_age_secs)));
  }));
  setOptions($('figure-cdn'), state.cdns.map((c) => c.name));
  setOptions($('figure-scope'), ['CDNTOTAL', ...regions]);
}

// Replaces a select's options only when they changed, keeping the choice.
function setOptions(select, values) {
  const now = [...select.options].map((o) => o.value);
  if (now.join('\n') === values.join('\n')) return;
  const chosen = select.value;
  select.replaceChildren(...values.map((v) => el('option', { value: v }, v)));
  if (values.includes(chosen)) select.value = chosen;
}

function drawPlan(plan) {
  $('plan-mode').textContent = plan.mode;
  $('plan-unplaced').textContent = kbps(plan.unplaced_kbps);
  const now = Date.now();
  const tables = plan.groups.map((g) => {
    const head = el('tr', {}, el('th', {}, 'region'), g.cdns.map((c) => el('th', {}, c)));
    const rows = Object.entries(g.weights).map(([region, weights]) =>
      el('tr', { 'data-region': region }, el('th', {}, region), g.cdns.map((cdn) => {
        const w = weights[cdn] ?? 0;
        const key = `${g.coverage}|${region}|${cdn}`;
        const seen = last.weights.get(key);
        let changedAt = seen ? seen.changedAt : 0;
        if (seen && Math.abs(seen.value - w) > 1e-9) changedAt = now;
        last.weights.set(key, { value: w, changedAt });
        const recent = now - changedAt < HIGHLIGHT_MS;
        return el('td', { class: recent ? 'num changed' : 'num', 'data-cdn': cdn }, (w * 100).toFixed(1) + ' %');
      })));
    return el('table', { 'data-coverage': g.coverage },
      el('caption', {}, `${g.coverage}: ${g.customers.join(', ')} (CDNs ${g.cdns.join(', ')})`),
      el('thead', {}, head), el('tbody', {}, rows));
  });
  $('plan').replaceChildren(...tables);
}

// Prometheus text → [{name, labels, value}].
function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1].replace(/^cdnbroker_control_/, '').replace(/_total$/, ''), labels, value: Number(m[3]) });
  }
  return out;
}

function drawCounters(state, metrics) {
  // Per CDN: every counter labelled with a partner, one column per (counter, result).
  const columns = [];
  const cells = new Map();
  for (const s of metrics) {
    if (!s.labels.partner) continue;
    const col = s.name + (s.labels.result ? ' ' + s.labels.result : '');
    if (!columns.includes(col)) columns.push(col);
    cells.set(s.labels.partner + '|' + col, s.value);
  }
  columns.sort();
  const partners = new Map(state.partners.map((p) => [p.name, p]));
  const names = [...new Set([...state.cdns.map((c) => c.name), ...partners.keys()])];
  const table = $('counters');
  table.tHead.replaceChildren(el('tr', {}, el('th', {}, 'CDN'), columns.map((c) => el('th', {}, c)),
    el('th', {}, 'last poll'), el('th', {}, 'last alert')));
  fill(table.tBodies[0], names.map((n) => {
    const p = partners.get(n);
    return el('tr', { 'data-cdn': n }, el('td', {}, n),
      columns.map((c) => el('td', { class: 'num', 'data-counter': c }, cells.get(n + '|' + c) ?? 0)),
      el('td', {}, p && p.polled ? (p.last_poll_error ? 'failed: ' + p.last_poll_error : 'ok ' + age(p.last_poll_ok_age_secs) + ' ago') : '—'),
      el('td', {}, p && p.last_alert ? `${p.last_alert} (${age(p.last_alert_age_secs)} ago)` : '—'));
  }));
  fill($('event-counters').tBodies[0], metrics.filter((s) => s.name === 'events').map((s) =>
    el('tr', {}, el('td', {}, s.labels.kind), el('td', { class: 'num' }, s.value))));
}

function drawCustomers(state) {
  fill($('customers').tBodies[0], state.customers.map((c) =>
    el('tr', { 'data-customer': c.name }, el('td', {}, c.name), el('td', {}, c.cdns.join(', ')),
      el('td', {}, c.dns.join(', ')),
      el('td', {}, el('button', {
        type: 'button', class: 'small', 'data-remove': c.name,
        onclick: () => sendEvents(`DEL CST ${c.name}!`, $('customer-outcome')),
      }, 'Remove')))));
  const box = $('customer-cdns');
  const have = [...box.querySelectorAll('input')].map((i) => i.value);
  const want = state.cdns.map((c) => c.name);
  if (have.join('\n') !== want.join('\n')) {
    box.replaceChildren(...want.map((n) => el('label', {},
      el('input', { type: 'checkbox', id: 'customer-cdn-' + n, value: n, checked: true }), n)));
  }
}

// ---- outcomes: OK, or the server's LINE:COL message over the text it refers to

function showOutcome(box, error, text) {
  if (!error) {
    box.replaceChildren(el('p', { class: 'ok', role: 'status' }, text));
    return;
  }
  const parts = [el('p', { class: 'error', role: 'alert' }, error)];
  const at = /^(\d+):(\d+)/.exec(error);
  if (text !== undefined) {
    const lines = text.split('\n');
    const width = String(lines.length).length;
    const pre = el('pre', { class: 'source' });
    lines.forEach((line, i) => {
      const n = String(i + 1).padStart(width, ' ');
      const marked = at && Number(at[1]) === i + 1;
      pre.append(el('span', { class: marked ? 'mark' : null }, `${n} | ${line}`), '\n');
      if (marked) {
        // The column counts bytes of the line; the caret goes under that byte.
        const col = Math.max(1, Number(at[2]));
        const before = new TextDecoder().decode(new TextEncoder().encode(line).slice(0, col - 1));
        pre.append(el('span', { class: 'caret' }, ' '.repeat(width) + ' | ' + ' '.repeat([...before].length) + '^'), '\n');
      }
    });
    parts.push(el('p', { class: 'note' }, 'The position is in this text, which the form sent:'), pre);
  }
  box.replaceChildren(...parts);
}

async function sendEvents(text, box) {
  try {
    const r = await api('POST', '/api/events', text);
    showOutcome(box, null, `OK: ${text.trim()} (plan generation ${r.generation})`);
    await refresh();
  } catch (e) {
    if (e.status === 401) return showLogin(refusal(e));
    showOutcome(box, e.message, text);
  }
}

$('figure-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = `${$('figure-verb').value} ${$('figure-cdn').value},${$('figure-scope').value}:${$('figure-kbps').value.trim()}!`;
  sendEvents(text, $('figure-outcome'));
});

$('customer-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const cdns = [...$('customer-cdns').querySelectorAll('input:checked')].map((i) => i.value + ';');
  sendEvents(`ADD CST ${$('customer-name').value.trim()} [ ${cdns.join(' ')} ]!`, $('customer-outcome'));
});

$('events-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sendEvents($('events-text').value, $('events-outcome'));
});

// ---- routing tables

function chip(label, attrs, onRemove) {
  return el('span', { class: 'chip', ...attrs }, label,
    onRemove ? el('button', { type: 'button', title: 'remove', onclick: onRemove }, '×') : null);
}

function drawRouting(routing) {
  $('routing-generation').textContent = routing.generation;
  fill($('partners').tBodies[0], routing.partners.map((p) =>
    el('tr', { 'data-partner': p.name }, el('td', {}, p.name),
      el('td', { 'data-field': 'form' }, p.form), el('td', { 'data-field': 'host' }, p.host ?? '—'),
      el('td', { 'data-field': 'table' }, Object.entries(p.table).map(([o, h]) =>
        chip(`${o} → ${h}`, { 'data-origin': o }, () => editRouting((r) => {
          delete r.partners.find((x) => x.name === p.name).table[o];
        })))))));
  setOptions($('partner-name'), routing.partners.map((p) => p.name));
  fill($('sites').tBodies[0], routing.customers.map((c) => {
    const edit = (f) => () => editRouting((r) => f(r.customers.find((x) => x.name === c.name), r));
    return el('tr', { 'data-customer': c.name }, el('td', {}, c.name),
      el('td', { 'data-field': 'site' }, c.site.map((h) =>
        chip(h, { 'data-host': h }, edit((x) => { x.site = x.site.filter((s) => s !== h); })))),
      el('td', { 'data-field': 'offload' }, c.offload.map((h) =>
        chip(h, { 'data-host': h }, edit((x) => { x.offload = x.offload.filter((s) => s !== h); })))),
      el('td', { 'data-field': 'origin' }, Object.entries(c.origin).map(([h, u]) =>
        chip(`${h} = ${u}`, { 'data-host': h }, edit((x) => { delete x.origin[h]; })))),
      el('td', {}, el('button', {
        type: 'button', class: 'small',
        onclick: edit((_, r) => { r.customers = r.customers.filter((x) => x.name !== c.name); }),
      }, 'Remove')));
  }));
  $('site-customers').replaceChildren(...routing.customers.map((c) => el('option', { value: c.name })));
  if (!last.routingDirty) $('routing-text').value = routing.toml;
}

const q = (s) => JSON.stringify(String(s)); // a TOML basic string: JSON's escapes are TOML's
const inline = (o) => '{ ' + Object.entries(o).map(([k, v]) => `${q(k)} = ${q(v)}`).join(', ') + ' }';

// The tables as the deployment file writes them (spec §7 keys).
function toToml(r) {
  const out = [];
  for (const p of r.partners) {
    out.push('[[partner]]', `name = ${q(p.name)}`, `form = ${q(p.form)}`);
    if (p.host !== null && p.host !== undefined) out.push(`host = ${q(p.host)}`);
    if (Object.keys(p.table).length) out.push(`table = ${inline(p.table)}`);
    out.push('');
  }
  for (const c of r.customers) {
    out.push('[[customer]]', `name = ${q(c.name)}`);
    if (c.site.length) out.push(`site = [${c.site.map(q).join(', ')}]`);
    if (c.offload.length) out.push(`offload = [${c.offload.map(q).join(', ')}]`);
    if (Object.keys(c.origin).length) out.push(`origin = ${inline(c.origin)}`);
    out.push('');
  }
  return out.join('\n');
}

// Applies `change` to a copy of the tables in force and sends the whole text.
function editRouting(change) {
  const r = JSON.parse(JSON.stringify({ partners: last.routing.partners, customers: last.routing.customers }));
  change(r);
  return putRouting(toToml(r));
}

async function putRouting(text) {
  const box = $('routing-outcome');
  try {
    const r = await api('PUT', '/api/routing', text);
    showOutcome(box, null, `OK: routing tables generation ${r.generation}`);
    last.routingDirty = false;
    await refresh();
    return true;
  } catch (e) {
    if (e.status === 401) { showLogin(refusal(e)); return false; }
    showOutcome(box, e.message, text);
    return false;
  }
}

$('partner-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const name = $('partner-name').value;
  const kind = $('partner-form-kind').value;
  const host = $('partner-host').value.trim();
  const origin = $('partner-origin').value.trim();
  const tableHost = $('partner-table-host').value.trim();
  const ok = await editRouting((r) => {
    const p = r.partners.find((x) => x.name === name);
    if (kind) p.form = kind;
    if (host) p.host = host;
    if (origin || tableHost) p.table[origin] = tableHost;
  });
  if (ok) for (const id of ['partner-host', 'partner-origin', 'partner-table-host']) $(id).value = '';
});

$('site-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const name = $('site-customer').value.trim();
  const v = (id) => $(id).value.trim();
  const ok = await editRouting((r) => {
    let c = r.customers.find((x) => x.name === name);
    if (!c) {
      c = { name, site: [], offload: [], dns: [], origin: {} };
      r.customers.push(c);
    }
    if (v('site-host') && !c.site.includes(v('site-host'))) c.site.push(v('site-host'));
    if (v('site-offload') && !c.offload.includes(v('site-offload'))) c.offload.push(v('site-offload'));
    if (v('site-origin-host') || v('site-origin-url')) c.origin[v('site-origin-host')] = v('site-origin-url');
  });
  if (ok) for (const id of ['site-host', 'site-offload', 'site-origin-host', 'site-origin-url']) $(id).value = '';
});

$('routing-text').addEventListener('input', () => { last.routingDirty = true; });
$('routing-reload').addEventListener('click', () => {
  last.routingDirty = false;
  $('routing-text').value = last.routing ? last.routing.toml : '';
});
$('routing-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  putRouting($('routing-text').value);
});

// ---- start: a token kept in this tab logs in again without asking

if (token) {
  refresh().then(() => { showApp(); startRefresh(); }, (e) => {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin(e.status === 401 ? refusal(e) : '');
  });
} else {
  showLogin('');
}
