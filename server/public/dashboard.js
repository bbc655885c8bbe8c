// dmpc dashboard: plain ES modules, no build step. Talks only to this server's API (docs/server.md,
// docs/http-api.md). Text from the server is always set with textContent.
//
// Parameter edits are *staged*: the form edits a copy of the current version, the staged box shows
// the difference, and Apply sends one PATCH (one new version) with `If-Match` naming the version the
// edit started from. A 412 means someone else made a version meanwhile: the dashboard shows what
// they changed and keeps the staged edits on top of the new version for another look.
import { api, errorText, request, storeToken, storedToken, takeTokenFromHash } from './dash-api.js';
import { changedLeaves, diffTable, mergePatch, patchBetween } from './dash-diff.js';
import { jobsPanel } from './dash-jobs.js';
import { TimePlot } from './dash-plot.js';
import { plantView } from './dash-robot.js';

const $ = (id) => document.getElementById(id);
const BUFFER_S = 60;

/** Units of the built-in models' states and controls (the API names them, it does not give units). */
const UNITS = {
  cartpole: { p: 'm', v: 'm/s', q: 'rad', omega: 'rad/s', F: 'N' },
  pendulum: { q: 'rad', omega: 'rad/s', tau: 'N·m' },
  diffdrive: { px: 'm', py: 'm', psi: 'rad', v: 'm/s', omega: 'rad/s', v_cmd: 'm/s', omega_cmd: 'rad/s' },
};
const unitOf = (name) => UNITS[st.desc?.model]?.[name] ?? '';

const st = {
  id: null, desc: null, es: null, every: 2,
  /** the newest version known: { version, params, etag } */
  current: null,
  /** the version a staged edit started from, and the edited copy (null: nothing staged) */
  base: null, staged: null, applying: false,
  history: [], scenarioDoc: null, comparePicked: false,
  frames: [], latest: null, windowS: 10, paused: false, frozen: null,
  plots: {}, drawPlant: () => {}, loopPaused: false, estop: false,
  jobs: null,
};

const clone = (v) => structuredClone(v);
/** Operations of this server ('GET /controllers/{id}/scenario', …) from its OpenAPI document: the
 * dashboard offers what the server has (scenario editing, pause, reset) and says so where it does not. */
let OPS = new Set();
const offers = (method, path) => OPS.has(`${method} ${path}`);
const ctlUrl = (suffix = '') => `/controllers/${encodeURIComponent(st.id)}${suffix}`;

function el(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') n.textContent = v; else if (k.startsWith('on')) n.addEventListener(k.slice(2), v); else n.setAttribute(k, v);
  }
  for (const c of children) n.append(c);
  return n;
}

const fmt = (v) => (v === null || v === undefined ? '—' : typeof v !== 'number' ? String(v) : Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : Number(v.toPrecision(4)).toString());

function showError(e, where = 'error') { $(where).textContent = errorText(e); }
function notice(...parts) { $('notice').replaceChildren(...parts.map((p) => (typeof p === 'string' ? document.createTextNode(p) : p))); }

// ---------------------------------------------------------------- token
function adoptToken(tok) { $('token').value = tok; if (st.id) connect(); }
{
  const t = takeTokenFromHash();
  $('token').value = t ?? storedToken();
  // a tab already showing the dashboard: opening the `#token=` link only changes the fragment
  window.addEventListener('hashchange', () => { const tok = takeTokenFromHash(); if (tok) { adoptToken(tok); notice('token taken from the link and stored in this browser'); } });
  $('token').addEventListener('change', () => { storeToken($('token').value.trim()); connect(); });
}

// ---------------------------------------------------------------- parameters: staged edits
const editable = () => st.staged ?? st.current.params;

/** Applies `mutate` to the staged copy (made from the current version on the first edit). */
function stage(mutate) {
  if (!st.staged) { st.base = clone(st.current); st.staged = clone(st.current.params); }
  mutate(st.staged);
  renderStaged();
}

function stagedPatch() { return st.staged ? patchBetween(st.base.params, st.staged) : {}; }

function renderStaged() {
  const patch = stagedPatch();
  if (st.staged && !Object.keys(patch).length) { st.staged = null; st.base = null; }
  const on = !!st.staged;
  $('apply').disabled = !on; $('discard').disabled = !on;
  $('staged-badge').hidden = !on;
  $('staged-base').textContent = `v${(st.base ?? st.current).version}`;
  $('staged-diff').replaceChildren(on ? diffTable(st.base.params, st.staged, [`v${st.base.version}`, 'staged']) : el('p', { class: 'muted', text: 'no staged changes' }));
  const changed = new Set(on ? changedLeaves(st.base.params, st.staged).map((c) => c.path.join('.')) : []);
  for (const inp of $('tuning').querySelectorAll('[data-path]')) inp.classList.toggle('changed', [...changed].some((p) => p === inp.dataset.path || p.startsWith(`${inp.dataset.path}.`)));
}

/** Slider position ↔ weight: log10 scale; the leftmost position of a ≥ 0 weight is exactly 0. */
const LOG_MIN = -4, LOG_MAX = 4;
const toSlider = (w, zeroOk) => (w <= 0 && zeroOk ? LOG_MIN - 0.5 : Math.log10(w));
const fromSlider = (s, zeroOk) => (zeroOk && s < LOG_MIN ? 0 : Number((10 ** s).toPrecision(3)));

function weightRow(key, i, label, zeroOk) {
  const v = editable().cost[key][i];
  const path = `cost.${key}.${i}`;
  const range = el('input', { type: 'range', id: `w-${key}-${i}`, 'data-path': path, min: String(zeroOk ? LOG_MIN - 0.5 : LOG_MIN), max: String(LOG_MAX), step: '0.05', value: String(toSlider(v, zeroOk)), 'aria-label': `${key}[${i}] ${label}` });
  const num = el('input', { type: 'number', id: `n-${key}-${i}`, 'data-path': path, value: String(v), step: 'any', min: zeroOk ? '0' : '1e-8' });
  const set = (value) => stage((p) => { p.cost[key][i] = value; });
  range.addEventListener('input', () => { const w = fromSlider(Number(range.value), zeroOk); num.value = String(w); set(w); });
  num.addEventListener('change', () => { if (num.value !== '' && Number.isFinite(Number(num.value))) { set(Number(num.value)); range.value = String(toSlider(Number(num.value), zeroOk)); } });
  return el('div', { class: 'row' }, el('span', { text: label }), range, num);
}

function boundsFields(which, names) {
  const b = editable().constraints[which];
  const fs = el('fieldset', {}, el('legend', { text: `${which} bounds: lower, upper (empty = none)` }));
  names.forEach((name, i) => {
    const mk = (side) => {
      const inp = el('input', { type: 'number', step: 'any', id: `b-${which}-${side}-${i}`, 'data-path': `constraints.${which}.${side}.${i}`, value: b[side][i] === null ? '' : String(b[side][i]), 'aria-label': `${name} ${side} bound` });
      inp.addEventListener('change', () => stage((p) => { p.constraints[which][side][i] = inp.value === '' ? null : Number(inp.value); }));
      return inp;
    };
    const u = unitOf(name);
    fs.append(el('div', { class: 'row' }, el('span', { text: u ? `${name} [${u}]` : name }), mk('lower'), mk('upper')));
  });
  return fs;
}

/** A number field staged into `path` of the parameter set; empty removes an optional entry (`optional`) or stores null. */
function numberField(label, id, path, attrs = {}, optional = false) {
  const get = (p) => path.reduce((o, k) => o?.[k], p);
  const v = get(editable());
  const inp = el('input', { type: 'number', id, 'data-path': path.join('.'), value: v === undefined || v === null ? '' : String(v), step: 'any', ...attrs });
  inp.addEventListener('change', () => stage((p) => {
    const parent = path.slice(0, -1).reduce((o, k) => o[k], p), k = path[path.length - 1];
    if (inp.value === '') { if (optional) delete parent[k]; else parent[k] = null; } else parent[k] = Number(inp.value);
  }));
  return el('label', { class: 'row' }, el('span', { text: label }), inp);
}

/** Reference entries the running scenario sets (GET …/scenario `owns`); they cannot be edited here. */
function ownedReference() {
  const owned = new Set();
  for (const p of st.scenarioDoc?.owns ?? []) if (p[0] === 'cost' && p[1] === 'reference' && p[2] === 'state') owned.add(p[3]);
  return owned;
}

function buildTuning() {
  const d = st.desc;
  if (!d || !st.current) return;
  $('version').textContent = `v${st.current.version}`;
  const w = $('weights'); w.replaceChildren();
  for (const [key, names, zeroOk, title] of [['Q', d.stateNames, true, 'state weights Q'], ['R', d.controlNames, false, 'control weights R'], ['Qf', d.stateNames, true, 'terminal weights Qf']]) {
    const fs = el('fieldset', {}, el('legend', { text: `${title} (log scale)` }));
    names.forEach((n, i) => fs.append(weightRow(key, i, n, zeroOk)));
    w.append(fs);
  }
  const owned = ownedReference();
  const ref = el('fieldset', {}, el('legend', { text: 'reference state' + (owned.size ? ' (greyed entries are set by the scenario)' : '') }));
  d.stateNames.forEach((n, i) => {
    const u = unitOf(n);
    const row = numberField(u ? `${n} [${u}]` : n, `ref-${i}`, ['cost', 'reference', 'state', i]);
    if (owned.has(i)) { const inp = row.querySelector('input'); inp.disabled = true; inp.title = 'set by the running scenario: change the scenario to set it here'; }
    ref.append(row);
  });
  w.append(ref);
  const l = $('limits'); l.replaceChildren(boundsFields('u', d.controlNames));
  if (editable().constraints.x) l.append(boundsFields('x', d.stateNames));
  $('solver').replaceChildren(el('fieldset', {}, el('legend', { text: 'horizon and solver' }),
    numberField('horizon', 'horizon', ['horizon'], { min: '2', max: '200', step: '1' }),
    numberField('max iter', 'maxIter', ['solver', 'maxIter'], { min: '1', step: '1' }),
    numberField('SQP iter', 'sqpIterations', ['solver', 'sqpIterations'], { min: '1', step: '1' }),
    numberField('tol', 'tol', ['solver', 'tol']),
    numberField('budget ms', 'budgetMs', ['solver', 'budgetMs'], { min: '0' }, true),
  ));
  renderStaged();
}

async function fetchCurrent() {
  const r = await request('GET', ctlUrl('/params'));
  return { version: r.data.version, params: r.data.params, etag: r.data.etag ?? r.etag ?? null };
}

/** Someone else made a version after our staged edit began: show their change, re-base our edit on it. */
async function rebase(reason) {
  const mine = stagedPatch();
  const before = st.base;
  st.current = await fetchCurrent();
  await loadHistory();
  const by = st.history.find((v) => v.version === st.current.version);
  st.base = clone(st.current);
  st.staged = mergePatch(st.current.params, mine);
  buildTuning();
  notice(`${reason}: v${st.current.version} was made by ${by?.who ?? 'someone else'} after your edit started from v${before.version}. Their change:`,
    diffTable(before.params, st.current.params, [`v${before.version}`, `v${st.current.version}`]),
    'Your staged edits are kept on top of it: check the staged changes and apply again.');
}

async function applyStaged() {
  const patch = stagedPatch();
  if (!Object.keys(patch).length) return;
  const note = $('note').value.trim();
  st.applying = true;
  try {
    // without ETags from the server, the version number is the precondition we can check ourselves
    if (!st.base.etag && st.current.version !== st.base.version) { await rebase('the parameters changed meanwhile'); return; }
    const r = await request('PATCH', ctlUrl('/params'), note ? { ...patch, note } : patch, { ifMatch: st.base.etag ?? undefined });
    st.current = { version: r.data.version, params: r.data.params, etag: r.data.etag ?? r.etag ?? null };
    st.staged = null; st.base = null;
    $('note').value = ''; showError(null);
    const warn = r.data.warnings?.length ? `warnings: ${r.data.warnings.join('; ')}` : '';
    notice(r.data.changed === false ? `nothing to apply: v${r.data.version} already has these values (no new version)` : warn);
    buildTuning();
    await loadHistory();
  } catch (e) {
    if (e.status === 412) await rebase('not applied');
    else {
      // 409: the running scenario (changed elsewhere, perhaps) sets a field of this edit; show which, and the scenario now
      if (e.status === 409) await loadScenario().catch(() => {});
      showError(e);
    }
  } finally { st.applying = false; }
}

function discardStaged() { st.staged = null; st.base = null; showError(null); buildTuning(); }

// ---------------------------------------------------------------- history, compare, rollback
const versionLabel = (v) => `v${v.version}`;

async function loadHistory() {
  try {
    const h = await api('GET', `${ctlUrl('/params/history')}?limit=50`);
    st.history = h.versions;
    const tb = $('history').tBodies[0];
    tb.replaceChildren(...h.versions.map((v) => {
      const what = v.kind === 'rollback' ? `rollback to v${v.what.rollbackTo}` : v.kind === 'initial' ? 'initial' : JSON.stringify(v.what);
      const btn = v.version === h.current ? el('span', { text: 'current' }) : el('button', { text: 'rollback…', 'data-version': String(v.version), onclick: () => askRollback(v) });
      return el('tr', { class: v.version === h.current ? 'current' : '', 'data-version': String(v.version) },
        el('td', { text: String(v.version) }), el('td', { text: new Date(v.at).toLocaleTimeString() }), el('td', { text: v.who }),
        el('td', { class: 'what', text: what + (v.note ? ` — ${v.note}` : '') }), el('td', {}, btn));
    }));
    // compare: the previous and the current version, until the user picks two of their own
    const [a, b] = [$('cmp-a'), $('cmp-b')];
    const picked = st.comparePicked ? [a.value, b.value] : null;
    for (const s of [a, b]) s.replaceChildren(...h.versions.map((v) => el('option', { value: String(v.version), text: versionLabel(v) })));
    [a.value, b.value] = picked ?? [String(h.versions[1]?.version ?? h.current), String(h.current)];
    renderCompare();
  } catch (e) { showError(e); }
}

function renderCompare() {
  const va = st.history.find((v) => String(v.version) === $('cmp-a').value), vb = st.history.find((v) => String(v.version) === $('cmp-b').value);
  $('compare-diff').replaceChildren(va && vb ? diffTable(va.params, vb.params, [versionLabel(va), versionLabel(vb)]) : el('span'));
}

/** Rollback asks first: what it will change (current → target), and that it is a new version. */
function askRollback(target) {
  const dlg = $('confirm');
  $('confirm-title').textContent = `Roll back to v${target.version}?`;
  $('confirm-text').textContent = `This stores a new version equal to v${target.version} (from ${target.who}, ${new Date(target.at).toLocaleString()}); ` +
    `the loop uses it from its next tick.${st.staged ? ' Your staged edits will be discarded.' : ''} Changes from the current v${st.current.version}:`;
  $('confirm-diff').replaceChildren(diffTable(st.current.params, target.params, [`v${st.current.version} (now)`, `v${target.version}`]));
  $('confirm-ok').onclick = async () => { dlg.close(); await rollback(target.version); };
  $('confirm-cancel').onclick = () => dlg.close();
  dlg.showModal();
}

async function rollback(version) {
  st.applying = true;
  try {
    const r = await request('POST', ctlUrl('/params/rollback'), { version }, { ifMatch: st.current.etag ?? undefined });
    st.current = { version: r.data.version, params: r.data.params, etag: r.data.etag ?? r.etag ?? null };
    st.staged = null; st.base = null;
    showError(null);
    notice(r.data.changed === false ? `v${version} equals the current version: nothing rolled back` : '');
    buildTuning(); await loadHistory();
  } catch (e) {
    if (e.status === 412) { st.current = await fetchCurrent(); await loadHistory(); buildTuning(); notice(`not rolled back: v${st.current.version} was made meanwhile; look at the history and try again`); }
    else showError(e);
  } finally { st.applying = false; }
}

// ---------------------------------------------------------------- scenario
async function loadScenario() {
  $('scenario').textContent = st.desc.scenario;
  const box = $('scenario-edit');
  if (!offers('GET', '/controllers/{id}/scenario')) {
    st.scenarioDoc = null;
    box.replaceChildren(el('p', { class: 'muted', text: 'this server has no scenario resource (GET …/scenario): the scenario is shown, not changeable here' }));
    return;
  }
  try {
    st.scenarioDoc = await api('GET', ctlUrl('/scenario'));
  } catch (e) {
    st.scenarioDoc = null;
    box.replaceChildren(el('p', { class: 'muted', text: e.status === 404 ? 'this server has no scenario resource (GET …/scenario): the scenario is shown, not changeable here' : errorText(e) }));
    return;
  }
  const doc = st.scenarioDoc, sc = doc.scenario;
  $('scenario').textContent = doc.description ?? st.desc.scenario;
  const kind = el('select', { id: 'scenario-kind' }, ...['off', 'fixed', 'alternating'].map((k) => el('option', { value: k, text: k })));
  kind.value = sc.kind;
  const goals = el('textarea', { id: 'scenario-goals', rows: '3', spellcheck: 'false', 'aria-label': 'goals (JSON, one row per goal, null keeps the reference)' });
  goals.value = JSON.stringify(sc.goals ?? [], null, 0);
  const period = el('input', { type: 'number', id: 'scenario-period', min: '0.1', step: 'any', value: String(sc.periodS ?? 5) });
  const reset = el('input', { type: 'checkbox', id: 'scenario-reset' });
  reset.checked = sc.reset ?? true;
  const altRows = [el('label', { class: 'row' }, el('span', { text: 'goals' }), goals), el('label', { class: 'row' }, el('span', { text: 'period s' }), period)];
  const showAlt = () => { for (const r of altRows) r.hidden = kind.value !== 'alternating'; };
  kind.addEventListener('change', showAlt);
  const apply = el('button', { id: 'scenario-apply', text: 'Apply scenario', onclick: async () => {
    const body = { kind: kind.value };
    if (kind.value !== 'off') body.reset = reset.checked;
    if (sc.x0) body.x0 = sc.x0;
    if (kind.value === 'off') delete body.x0;
    if (kind.value === 'alternating') {
      try { body.goals = JSON.parse(goals.value); } catch (e) { $('scenario-error').textContent = `goals are not JSON: ${e.message}`; return; }
      body.periodS = Number(period.value);
    }
    // If-Match: the version this form was filled from; a scenario changed elsewhere meanwhile is a 412,
    // shown with the form reloaded on the scenario now in force.
    try { await api('PUT', ctlUrl('/scenario'), body, { ifMatch: doc.etag ?? undefined }); $('scenario-error').textContent = ''; await loadScenario(); if (!st.staged) buildTuning(); }
    catch (e) { showError(e, 'scenario-error'); if (e.status === 412) { const msg = $('scenario-error').textContent; await loadScenario(); $('scenario-error').textContent = msg; } }
  } });
  const owns = (doc.owns ?? []).map((p) => p.join('.')).join(', ');
  box.replaceChildren(el('label', { class: 'row' }, el('span', { text: 'kind' }), kind), ...altRows,
    el('label', { class: 'row' }, el('span', { text: 'reset' }), reset),
    el('p', { class: 'muted', text: owns ? `sets ${owns}` : 'sets no parameter' }),
    el('p', { class: 'muted', id: 'scenario-version', text: doc.version ? `version ${doc.version}, ${doc.who}, ${doc.at}` : '' }), apply);
  showAlt();
}

// ---------------------------------------------------------------- loop controls
function renderLoopButtons() {
  for (const [id, path] of [['pause', '/controllers/{id}/pause'], ['reset', '/controllers/{id}/reset']]) {
    const has = offers('POST', path);
    $(id).disabled = !has;
    if (!has) $(id).title = `this server has no POST ${path}`;
  }
  $('estop').setAttribute('aria-pressed', String(st.estop));
  $('estop').textContent = st.estop ? 'E-stop engaged: release' : 'E-stop';
  $('pause').setAttribute('aria-pressed', String(st.loopPaused));
  $('pause').textContent = st.loopPaused ? 'Resume loop' : 'Pause loop';
}

async function loopCall(path, body, then) {
  try { const r = await api('POST', ctlUrl(path), body); showError(null); then(r); }
  catch (e) { showError(e); }
  renderLoopButtons();
}
$('estop').addEventListener('click', () => loopCall('/estop', { engaged: !st.estop }, (r) => { st.estop = r.engaged; }));
$('pause').addEventListener('click', () => loopCall('/pause', { paused: !st.loopPaused }, (r) => { st.loopPaused = r.paused; }));
$('reset').addEventListener('click', () => loopCall('/reset', {}, () => { notice('plant reset to the start state'); }));

// ---------------------------------------------------------------- live plots and the plant
function ensurePlots() {
  const d = st.desc;
  if (st.plots.ready) return;
  for (const p of ['state-plots', 'command-plots', 'solver-plot']) $(p).replaceChildren();
  st.plots = { ready: true, x: [], u: [] };
  const boundsKey = { key: 'lo', label: 'bounds', cls: 'bound' };
  d.stateNames.forEach((n, i) => { st.plots.x[i] = new TimePlot($('state-plots'), { id: `plot-x-${i}`, title: `${n} (state ${i})`, unit: unitOf(n), series: [{ key: 'past', label: 'measured', cls: 'past' }, { key: 'pred', label: 'predicted', cls: 'pred' }, { key: 'ref', label: 'reference', cls: 'ref' }, boundsKey, { key: 'hi', label: '', cls: 'bound' }] }); });
  d.controlNames.forEach((n, j) => { st.plots.u[j] = new TimePlot($('command-plots'), { id: `plot-u-${j}`, title: `${n} (command ${j})`, unit: unitOf(n), series: [{ key: 'past', label: 'applied', cls: 'past' }, { key: 'pred', label: 'planned', cls: 'pred' }, { key: 'ref', label: 'reference', cls: 'ref' }, boundsKey, { key: 'hi', label: '', cls: 'bound' }] }); });
  st.plots.solve = new TimePlot($('solver-plot'), { id: 'plot-solve', title: 'solve time', unit: 'ms', floor: 0, series: [{ key: 'past', label: 'solve time', cls: 'past' }, { key: 'ref', label: 'control period', cls: 'ref' }, { key: 'lo', label: 'budget', cls: 'bound' }] });
}

let scheduled = false;
function schedule() { if (!scheduled) { scheduled = true; requestAnimationFrame(render); } }

function render() {
  scheduled = false;
  const d = st.desc;
  if (!st.latest || !d) return;
  st.drawPlant(st.latest);
  const view = st.paused && st.frozen ? st.frozen : { latest: st.latest, frames: st.frames };
  const f = view.latest, frames = view.frames.filter((q) => q.t >= f.t - st.windowS);
  ensurePlots();
  const dt = d.dt, T = f.predicted.x.length, tEnd = f.t + Math.max(T - 1, 1) * dt;
  const t0 = Math.max(0, f.t - st.windowS); // simulated time starts at 0: no empty stretch before it
  const p = st.current.params;
  const flat = (v) => (v === null || v === undefined ? [] : [[t0, v], [tEnd, v]]);
  d.stateNames.forEach((_, i) => {
    const xb = p.constraints.x;
    st.plots.x[i].draw({
      series: {
        past: frames.map((q) => [q.t, q.x[i]]),
        pred: f.predicted.x.map((row, k) => [f.t + k * dt, row[i]]),
        // the reference as it was at each tick (the scenario moves it), then the current one over the horizon
        ref: [...frames.map((q) => [q.t, q.reference[i]]), [f.t, f.reference[i]], [tEnd, f.reference[i]]],
        lo: flat(xb?.lower?.[i]), hi: flat(xb?.upper?.[i]),
      }, t0, t1: tEnd, tNow: f.t, version: f.version,
    });
  });
  d.controlNames.forEach((_, j) => {
    const rc = p.cost.reference.control?.[j];
    st.plots.u[j].draw({
      series: {
        past: frames.map((q) => [q.t, q.u[j]]),
        pred: f.predicted.u.map((row, k) => [f.t + k * dt, row[j]]),
        ref: rc === undefined ? [] : flat(rc), lo: flat(p.constraints.u.lower[j]), hi: flat(p.constraints.u.upper[j]),
      }, t0, t1: tEnd, tNow: f.t, version: f.version,
    });
  });
  st.plots.solve.draw({ series: { past: frames.map((q) => [q.t, q.solveMs]), ref: [[t0, 1000 * dt], [f.t, 1000 * dt]], lo: p.solver.budgetMs ? [[t0, p.solver.budgetMs], [f.t, p.solver.budgetMs]] : [] }, t0, t1: Math.max(f.t, t0 + dt), tNow: f.t });
  $('plots').dataset.version = String(f.version);
  const rows = [['mode', f.mode], ['status', f.status], ['iterations', f.iterations], ['solve ms', fmt(f.solveMs)], ['version', f.version],
    ['deadline misses', f.deadlineMisses], ['plant resets', f.resets], ['sim time s', fmt(f.t)]];
  $('stats').tBodies[0].replaceChildren(...rows.map(([k, v]) => el('tr', {}, el('td', { text: k }), el('td', { text: String(v), 'data-stat': k }))));
}

$('plot-pause').addEventListener('click', () => {
  st.paused = !st.paused;
  st.frozen = st.paused && st.latest ? { latest: st.latest, frames: [...st.frames] } : null;
  $('plot-pause').setAttribute('aria-pressed', String(st.paused));
  $('plot-pause').textContent = st.paused ? 'Resume plots' : 'Pause plots';
  schedule();
});
function setWindow(s) {
  st.windowS = Math.min(BUFFER_S, Math.max(1, s));
  const opt = [...$('plot-window').options].find((o) => Number(o.value) === Math.round(st.windowS));
  if (opt) $('plot-window').value = opt.value;
  $('plots').dataset.window = String(st.windowS);
  schedule();
}
$('plot-window').addEventListener('change', () => setWindow(Number($('plot-window').value)));
$('plots').addEventListener('wheel', (ev) => {
  if (!ev.target.closest?.('svg.plot')) return;
  ev.preventDefault();
  setWindow(st.windowS * (ev.deltaY > 0 ? 1.25 : 0.8));
}, { passive: false });
new ResizeObserver(() => schedule()).observe($('plots'));

function connect() {
  if (st.es) st.es.close();
  if (!st.id) return;
  const q = new URLSearchParams({ controller: st.id, every: String(st.every) });
  const tok = $('token').value.trim();
  if (tok) q.set('token', tok);
  const es = new EventSource(`/telemetry?${q}`);
  st.es = es;
  es.addEventListener('open', () => { $('conn').textContent = 'live'; $('conn').className = 'badge ok'; });
  es.addEventListener('error', () => { $('conn').textContent = 'reconnecting…'; $('conn').className = 'badge bad'; });
  es.addEventListener('hello', (ev) => {
    // on every (re)connect: the loop's pause and e-stop state, which other clients may have changed
    const d = JSON.parse(ev.data);
    if (d.id !== st.id) return;
    st.estop = !!d.estop; st.loopPaused = !!d.paused;
    renderLoopButtons();
  });
  es.addEventListener('tick', (ev) => {
    const f = JSON.parse(ev.data);
    if (f.controller !== st.id || es !== st.es) return;
    if (st.latest && f.t < st.latest.t) st.frames = []; // a restarted loop
    st.latest = f;
    st.frames.push({ t: f.t, x: f.x, u: f.u, reference: f.reference, solveMs: f.solveMs });
    while (st.frames.length && st.frames[0].t < f.t - BUFFER_S) st.frames.shift();
    const e = f.mode === 'estop';
    if (e !== st.estop) { st.estop = e; renderLoopButtons(); }
    schedule();
  });
  es.addEventListener('params', async (ev) => {
    const p = JSON.parse(ev.data);
    if (!st.current || p.version === st.current.version) return;
    st.current = await fetchCurrent().catch(() => ({ version: p.version, params: p.params, etag: null }));
    await loadHistory();
    if (st.applying) return;
    if (!st.staged) buildTuning();
    else {
      $('version').textContent = `v${st.current.version}`;
      notice(`v${st.current.version} was made while you edit (your staged edit started from v${st.base.version}); Apply will show what changed and ask you to check again.`);
    }
  });
}

// ---------------------------------------------------------------- what-if
function parseState(text, nx) {
  const v = text.split(/[\s,]+/).filter(Boolean).map(Number);
  if (v.length !== nx || !v.every(Number.isFinite)) throw new Error(`start state: ${nx} numbers, comma separated`);
  return v;
}

async function runWhatIf() {
  const d = st.desc, err = $('whatif-error');
  err.textContent = '';
  let x0;
  try {
    const text = $('whatif-x0').value.trim() || (st.latest ? st.latest.x.map((v) => Number(v.toFixed(4))).join(', ') : '');
    x0 = parseState(text, d.stateNames.length);
    $('whatif-x0').value = x0.join(', ');
  } catch (e) { err.textContent = e.message; return; }
  const steps = Number($('whatif-steps').value) || 250;
  const patch = stagedPatch();
  const staged = Object.keys(patch).length > 0;
  $('whatif-run').disabled = true;
  try {
    const base = await api('POST', '/simulate', { controller: st.id, initialState: x0, steps });
    const alt = staged ? await api('POST', '/simulate', { controller: st.id, initialState: x0, steps, params: patch }) : null;
    st.whatif = { base, alt, x0 };
    renderWhatIf();
  } catch (e) { err.textContent = errorText(e); }
  finally { $('whatif-run').disabled = false; }
}

function renderWhatIf() {
  const w = st.whatif;
  if (!w) return;
  const { base, alt } = w;
  const pct = (a, b) => (a > 0 ? `${(100 * (b - a) / a).toFixed(1)} %` : '—');
  const statuses = (r) => Object.entries(r.statuses).map(([k, n]) => `${k} ${n}`).join(', ');
  const rows = [['', `v${base.version} (now)`, alt ? 'staged' : 'no staged edit', alt ? 'change' : ''],
    ['cost total', fmt(base.cost.total), alt ? fmt(alt.cost.total) : '', alt ? pct(base.cost.total, alt.cost.total) : ''],
    ['state part', fmt(base.cost.state), alt ? fmt(alt.cost.state) : '', alt ? pct(base.cost.state, alt.cost.state) : ''],
    ['control part', fmt(base.cost.control), alt ? fmt(alt.cost.control) : '', alt ? pct(base.cost.control, alt.cost.control) : ''],
    ['solve median ms', fmt(base.solve.medianMs), alt ? fmt(alt.solve.medianMs) : '', ''],
    ['solver statuses', statuses(base), alt ? statuses(alt) : '', ''],
    ['final state', base.finalState.map(fmt).join(', '), alt ? alt.finalState.map(fmt).join(', ') : '', '']];
  // the total costs carry their exact values (data-value) beside the rounded text
  const exact = { 1: { 'data-whatif': 'current-cost', 'data-value': String(base.cost.total) }, 2: alt ? { 'data-whatif': 'staged-cost', 'data-value': String(alt.cost.total) } : {} };
  $('whatif-table').tBodies[0].replaceChildren(...rows.map((r, k) => el('tr', k ? {} : { class: 'head' },
    ...r.map((c, i) => el(k && i ? 'td' : 'th', { text: c, ...(k === 1 ? exact[i] ?? {} : {}) })))));
  const sel = $('whatif-var'), [kind, idx] = sel.value.split(':');
  const name = sel.selectedOptions[0]?.textContent ?? '';
  const pick = (r) => (kind === 'x' ? r.x.map((row, k) => [r.t[k], row[idx]]) : r.u.map((row, k) => [r.t[k], row[idx]]));
  $('whatif-plot').replaceChildren();
  const plot = new TimePlot($('whatif-plot'), { id: 'plot-whatif', title: name, unit: unitOf(name), series: [{ key: 'past', label: `v${base.version}`, cls: 'past' }, { key: 'alt', label: 'staged', cls: 'alt' }] });
  plot.draw({ series: { past: pick(base), alt: alt ? pick(alt) : [] }, t0: 0, t1: base.t[base.t.length - 1] || 1, tNow: 0 });
}
$('whatif-run').addEventListener('click', runWhatIf);
$('whatif-var').addEventListener('change', renderWhatIf);

// ---------------------------------------------------------------- controller selection
async function selectController(id) {
  if (st.es) { st.es.close(); st.es = null; } // no frame of the previous controller reaches the new drawing
  st.id = id; st.frames = []; st.latest = null; st.plots = {}; st.staged = null; st.base = null; st.whatif = null; st.comparePicked = false;
  st.desc = await api('GET', ctlUrl());
  st.current = await fetchCurrent();
  st.estop = !!st.desc.estop;
  st.loopPaused = st.desc.paused ?? false;
  renderLoopButtons();
  $('summary').textContent = `${st.desc.model} · ${st.desc.rateHz} Hz · plant ${st.desc.plant}`;
  $('plant-name').textContent = st.desc.model;
  st.drawPlant = plantView($('plant'), st.desc);
  $('whatif-var').replaceChildren(...st.desc.stateNames.map((n, i) => el('option', { value: `x:${i}`, text: n })), ...st.desc.controlNames.map((n, j) => el('option', { value: `u:${j}`, text: n })));
  $('whatif-x0').placeholder = 'the plant\'s state now';
  $('whatif-table').tBodies[0].replaceChildren(); $('whatif-plot').replaceChildren();
  await loadScenario();
  buildTuning();
  await loadHistory();
  connect();
  st.jobs?.fill();
}

$('apply').addEventListener('click', applyStaged);
$('discard').addEventListener('click', discardStaged);
for (const id of ['cmp-a', 'cmp-b']) $(id).addEventListener('change', () => { st.comparePicked = true; renderCompare(); });

async function main() {
  try {
    const doc = await api('GET', '/docs/json');
    OPS = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    const { controllers } = await api('GET', '/controllers');
    const sel = $('controller');
    sel.replaceChildren(...controllers.map((c) => el('option', { value: c.id, text: `${c.id} (${c.model})` })));
    sel.addEventListener('change', () => selectController(sel.value).catch(showError));
    if (controllers.length) await selectController(controllers.some((c) => c.id === 'default') ? 'default' : controllers[0].id);
    st.jobs = jobsPanel($('jobs-panel'), () => st.desc, () => st.latest?.x ?? null);
    await st.jobs.start();
  } catch (e) { showError(e); }
}
main();
