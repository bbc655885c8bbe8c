// dmpc dashboard: plain ES module, no build step. Talks only to this server's API:
// GET /controllers[/:id], PATCH /controllers/:id/params, GET …/params/history, POST …/params/rollback,
// and the SSE stream GET /telemetry. Text from the server is always set with textContent.
const $ = (id) => document.getElementById(id);
const SVGNS = 'http://www.w3.org/2000/svg';
const WINDOW_S = 10;

const st = { id: null, desc: null, frames: [], latest: null, es: null, pending: false, every: 2, history: [] };

// token: from the URL fragment (#token=… as printed by `dmpc serve`), then remembered in this browser
(() => {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) { localStorage.setItem('dmpc.token', decodeURIComponent(m[1])); history.replaceState(null, '', location.pathname + location.search); }
  $('token').value = localStorage.getItem('dmpc.token') ?? '';
  $('token').addEventListener('change', () => { localStorage.setItem('dmpc.token', $('token').value.trim()); connect(); });
})();
const token = () => $('token').value.trim();

async function api(method, path, body) {
  const headers = { 'x-dmpc-user': 'dashboard' };
  if (token()) headers.authorization = `Bearer ${token()}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => null);
  if (!res.ok) { const e = new Error(data?.message ?? res.statusText); e.status = res.status; e.body = data; throw e; }
  return data;
}

function showError(e) {
  if (!e) { $('error').textContent = ''; return; }
  const issues = e.body?.issues?.map((i) => `• ${i.path.join('.') || '(body)'}: ${i.message}`).join('\n') ?? '';
  $('error').textContent = `${e.status ?? ''} ${e.message}${issues ? '\n' + issues : ''}`;
}

function el(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') n.textContent = v; else if (k.startsWith('on')) n.addEventListener(k.slice(2), v); else n.setAttribute(k, v);
  }
  for (const c of children) n.append(c);
  return n;
}

const fmt = (v) => (v === null || v === undefined ? '—' : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : Number(v.toPrecision(4)).toString());

// ---------------------------------------------------------------- parameters
async function sendPatch(patch) {
  const note = $('note').value.trim();
  if (note) patch.note = note;
  try {
    const v = await api('PATCH', `/controllers/${encodeURIComponent(st.id)}/params`, patch);
    showError(null);
    st.desc.params = v.params; st.desc.version = v.version;
    $('version').textContent = `v${v.version}`;
    $('note').value = '';
    await loadHistory();
  } catch (e) { showError(e); buildTuning(); }
}

/** Slider position ↔ weight: log10 scale; the leftmost position of a ≥ 0 weight is exactly 0. */
const LOG_MIN = -4, LOG_MAX = 4;
const toSlider = (w, zeroOk) => (w <= 0 && zeroOk ? LOG_MIN - 0.5 : Math.log10(w));
const fromSlider = (s, zeroOk) => (zeroOk && s < LOG_MIN ? 0 : Number((10 ** s).toPrecision(3)));

function weightRow(key, i, label, zeroOk) {
  const p = st.desc.params.cost;
  const v = p[key][i];
  const range = el('input', { type: 'range', id: `w-${key}-${i}`, min: String(zeroOk ? LOG_MIN - 0.5 : LOG_MIN), max: String(LOG_MAX), step: '0.05', value: String(toSlider(v, zeroOk)), 'aria-label': `${key}[${i}] ${label}` });
  const num = el('input', { type: 'number', id: `n-${key}-${i}`, value: String(v), step: 'any', min: zeroOk ? '0' : '1e-8' });
  range.addEventListener('input', () => { num.value = String(fromSlider(Number(range.value), zeroOk)); });
  const commit = (value) => { const vec = [...st.desc.params.cost[key]]; vec[i] = value; sendPatch({ cost: { [key]: vec } }); };
  range.addEventListener('change', () => commit(fromSlider(Number(range.value), zeroOk)));
  num.addEventListener('change', () => commit(Number(num.value)));
  return el('div', { class: 'row' }, el('span', { text: label }), range, num);
}

function boundsFields(which, names) {
  const b = st.desc.params.constraints[which];
  const fs = el('fieldset', {}, el('legend', { text: `${which} bounds (empty = none)` }));
  names.forEach((name, i) => {
    const mk = (side) => {
      const inp = el('input', { type: 'number', step: 'any', id: `b-${which}-${side}-${i}`, value: b[side][i] === null ? '' : String(b[side][i]) });
      inp.addEventListener('change', () => {
        const vec = [...st.desc.params.constraints[which][side]];
        vec[i] = inp.value === '' ? null : Number(inp.value);
        sendPatch({ constraints: { [which]: { [side]: vec } } });
      });
      return inp;
    };
    fs.append(el('div', { class: 'row' }, el('span', { text: name }), mk('lower'), mk('upper')));
  });
  return fs;
}

function numberField(label, id, value, patchOf, attrs = {}) {
  const inp = el('input', { type: 'number', id, value: value === undefined ? '' : String(value), step: 'any', ...attrs });
  inp.addEventListener('change', () => sendPatch(patchOf(inp.value === '' ? null : Number(inp.value))));
  return el('label', { class: 'row' }, el('span', { text: label }), inp);
}

function buildTuning() {
  const d = st.desc;
  if (!d) return;
  $('version').textContent = `v${d.version}`;
  const w = $('weights'); w.replaceChildren();
  for (const [key, names, zeroOk, title] of [['Q', d.stateNames, true, 'state weights Q'], ['R', d.controlNames, false, 'control weights R'], ['Qf', d.stateNames, true, 'terminal weights Qf']]) {
    const fs = el('fieldset', {}, el('legend', { text: `${title} (log scale)` }));
    names.forEach((n, i) => fs.append(weightRow(key, i, n, zeroOk)));
    w.append(fs);
  }
  const ref = el('fieldset', {}, el('legend', { text: 'reference state (the scenario may move some entries)' }));
  d.stateNames.forEach((n, i) => ref.append(numberField(n, `ref-${i}`, d.params.cost.reference.state[i], (v) => { const s = [...st.desc.params.cost.reference.state]; s[i] = v; return { cost: { reference: { state: s } } }; })));
  w.append(ref);
  const l = $('limits'); l.replaceChildren(boundsFields('u', d.controlNames));
  if (d.params.constraints.x) l.append(boundsFields('x', d.stateNames));
  const s = $('solver'); s.replaceChildren(el('fieldset', {}, el('legend', { text: 'horizon and solver' }),
    numberField('horizon', 'horizon', d.params.horizon, (v) => ({ horizon: v }), { min: '2', max: '200', step: '1' }),
    numberField('max iter', 'maxIter', d.params.solver.maxIter, (v) => ({ solver: { maxIter: v } }), { min: '1', step: '1' }),
    numberField('SQP iter', 'sqpIterations', d.params.solver.sqpIterations, (v) => ({ solver: { sqpIterations: v } }), { min: '1', step: '1' }),
    numberField('tol', 'tol', d.params.solver.tol, (v) => ({ solver: { tol: v } })),
    numberField('budget ms', 'budgetMs', d.params.solver.budgetMs, (v) => ({ solver: { budgetMs: v } })),
  ));
}

// ---------------------------------------------------------------- history
async function loadHistory() {
  try {
    const h = await api('GET', `/controllers/${encodeURIComponent(st.id)}/params/history?limit=50`);
    st.history = h.versions;
    const tb = $('history').tBodies[0];
    tb.replaceChildren(...h.versions.map((v) => {
      const what = v.kind === 'rollback' ? `rollback to v${v.what.rollbackTo}` : v.kind === 'initial' ? 'initial' : JSON.stringify(v.what);
      const btn = v.version === h.current ? el('span', { text: 'current' }) : el('button', { text: 'rollback', 'data-version': String(v.version), onclick: () => rollback(v.version) });
      return el('tr', { class: v.version === h.current ? 'current' : '', 'data-version': String(v.version) },
        el('td', { text: String(v.version) }), el('td', { text: new Date(v.at).toLocaleTimeString() }), el('td', { text: v.who }),
        el('td', { class: 'what', text: what + (v.note ? ` — ${v.note}` : '') }), el('td', {}, btn));
    }));
  } catch (e) { showError(e); }
}

async function rollback(version) {
  try {
    const v = await api('POST', `/controllers/${encodeURIComponent(st.id)}/params/rollback`, { version });
    showError(null);
    st.desc.params = v.params; st.desc.version = v.version;
    buildTuning(); await loadHistory();
  } catch (e) { showError(e); }
}

// ---------------------------------------------------------------- plots
function plot(container, id, title) {
  let svg = document.getElementById(id);
  if (!svg) {
    svg = document.createElementNS(SVGNS, 'svg');
    svg.setAttribute('id', id); svg.setAttribute('class', 'plot'); svg.setAttribute('viewBox', '0 0 600 110'); svg.setAttribute('preserveAspectRatio', 'none');
    for (const cls of ['zero', 'now']) { const ln = document.createElementNS(SVGNS, 'line'); ln.setAttribute('class', cls); svg.append(ln); }
    for (const cls of ['ref', 'past', 'pred']) { const pl = document.createElementNS(SVGNS, 'polyline'); pl.setAttribute('class', cls); svg.append(pl); }
    for (const cls of ['title', 'ymax', 'ymin']) { const t = document.createElementNS(SVGNS, 'text'); t.setAttribute('class', cls); svg.append(t); }
    svg.querySelector('.title').setAttribute('x', '4'); svg.querySelector('.title').setAttribute('y', '11');
    svg.querySelector('.ymax').setAttribute('x', '560'); svg.querySelector('.ymax').setAttribute('y', '11');
    svg.querySelector('.ymin').setAttribute('x', '560'); svg.querySelector('.ymin').setAttribute('y', '106');
    container.append(svg);
  }
  svg.querySelector('.title').textContent = title;
  return svg;
}

function draw(svg, series, t0, t1, version) {
  let lo = Infinity, hi = -Infinity;
  for (const s of Object.values(series)) for (const [, y] of s) if (Number.isFinite(y)) { lo = Math.min(lo, y); hi = Math.max(hi, y); }
  if (!Number.isFinite(lo)) { lo = -1; hi = 1; }
  if (hi - lo < 1e-6) { lo -= 0.5; hi += 0.5; }
  const pad = 0.08 * (hi - lo); lo -= pad; hi += pad;
  const X = (t) => ((t - t0) / (t1 - t0)) * 600, Y = (y) => 110 - ((y - lo) / (hi - lo)) * 110;
  for (const [cls, pts] of Object.entries(series)) {
    svg.querySelector(`.${cls}`).setAttribute('points', pts.filter(([, y]) => Number.isFinite(y)).map(([t, y]) => `${X(t).toFixed(1)},${Y(y).toFixed(1)}`).join(' '));
  }
  const now = svg.querySelector('.now'), tn = series.past.length ? series.past[series.past.length - 1][0] : t0;
  now.setAttribute('x1', X(tn)); now.setAttribute('x2', X(tn)); now.setAttribute('y1', 0); now.setAttribute('y2', 110);
  const z = svg.querySelector('.zero'); z.setAttribute('x1', 0); z.setAttribute('x2', 600); z.setAttribute('y1', Y(0)); z.setAttribute('y2', Y(0));
  svg.querySelector('.ymax').textContent = fmt(hi); svg.querySelector('.ymin').textContent = fmt(lo);
  svg.querySelector('.pred').setAttribute('data-version', String(version));
}

let scheduled = false;
function render() {
  scheduled = false;
  const f = st.latest, d = st.desc;
  if (!f || !d) return;
  const dt = d.dt, T = f.predicted.x.length;
  const t0 = f.t - WINDOW_S, t1 = f.t + Math.max(T, 1) * dt;
  const frames = st.frames;
  d.stateNames.forEach((name, i) => {
    const svg = plot($('state-plots'), `plot-x-${i}`, `${name} (state ${i})`);
    draw(svg, {
      past: frames.map((q) => [q.t, q.x[i]]),
      pred: f.predicted.x.map((row, k) => [f.t + k * dt, row[i]]),
      ref: [[t0, f.reference[i]], [t1, f.reference[i]]],
    }, t0, t1, f.version);
  });
  d.controlNames.forEach((name, j) => {
    const svg = plot($('command-plots'), `plot-u-${j}`, `${name} (command ${j})`);
    draw(svg, { past: frames.map((q) => [q.t, q.u[j]]), pred: f.predicted.u.map((row, k) => [f.t + k * dt, row[j]]), ref: [] }, t0, t1, f.version);
  });
  const sp = plot($('solver-plot'), 'plot-solve', 'solve time (ms)');
  draw(sp, { past: frames.map((q) => [q.t, q.solveMs]), pred: [], ref: [[t0, 1000 * dt], [t1, 1000 * dt]] }, t0, f.t, f.version);
  $('plots').dataset.version = String(f.version);
  const rows = [['mode', f.mode], ['status', f.status], ['iterations', f.iterations], ['solve ms', fmt(f.solveMs)], ['version', f.version],
    ['deadline misses', f.deadlineMisses], ['plant resets', f.resets], ['sim time s', fmt(f.t)]];
  $('stats').tBodies[0].replaceChildren(...rows.map(([k, v]) => el('tr', {}, el('td', { text: k }), el('td', { text: String(v), 'data-stat': k }))));
}

function connect() {
  if (st.es) st.es.close();
  const q = new URLSearchParams({ controller: st.id, every: String(st.every) });
  if (token()) q.set('token', token());
  const es = new EventSource(`/telemetry?${q}`);
  st.es = es;
  es.addEventListener('open', () => { $('conn').textContent = 'live'; $('conn').className = 'badge ok'; });
  es.addEventListener('error', () => { $('conn').textContent = 'reconnecting…'; $('conn').className = 'badge bad'; });
  es.addEventListener('tick', (ev) => {
    const f = JSON.parse(ev.data);
    st.latest = f;
    st.frames.push({ t: f.t, x: f.x, u: f.u, solveMs: f.solveMs });
    while (st.frames.length && st.frames[0].t < f.t - WINDOW_S) st.frames.shift();
    if (!scheduled) { scheduled = true; requestAnimationFrame(render); }
  });
  es.addEventListener('params', async (ev) => {
    const p = JSON.parse(ev.data);
    if (st.desc && p.version !== st.desc.version) {
      st.desc.params = p.params; st.desc.version = p.version;
      if (!document.activeElement || !$('tuning').contains(document.activeElement)) buildTuning();
      $('version').textContent = `v${p.version}`;
      await loadHistory();
    }
  });
}

async function selectController(id) {
  st.id = id; st.frames = []; st.latest = null;
  st.desc = await api('GET', `/controllers/${encodeURIComponent(id)}`);
  $('scenario').textContent = st.desc.scenario;
  $('summary').textContent = `${st.desc.model} · ${st.desc.rateHz} Hz · plant ${st.desc.plant}`;
  for (const p of ['state-plots', 'command-plots', 'solver-plot']) $(p).replaceChildren();
  buildTuning();
  await loadHistory();
  connect();
}

async function main() {
  try {
    const { controllers } = await api('GET', '/controllers');
    const sel = $('controller');
    sel.replaceChildren(...controllers.map((c) => el('option', { value: c.id, text: `${c.id} (${c.model})` })));
    sel.addEventListener('change', () => selectController(sel.value));
    if (controllers.length) await selectController(controllers.some((c) => c.id === 'default') ? 'default' : controllers[0].id);
  } catch (e) { showError(e); }
}
main();
