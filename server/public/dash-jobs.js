// The jobs panel: start a job (kind + parameters as JSON), watch progress, cancel, and a learning
// curve per job. While a job runs its curve is built from the progress messages the API sends
// ("iteration 3/10: best task cost 1.2", "… loss 0.4", "… train 1e-3 val 2e-3"); when it has
// finished, the curve is replaced by the exact one from its result (`history` of tune-search,
// `curve` of tune and imitate).

import { api, errorText } from './dash-api.js';
import { TimePlot } from './dash-plot.js';

const el = (tag, attrs = {}, ...kids) => {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) { if (k === 'text') n.textContent = v; else if (k.startsWith('on')) n.addEventListener(k.slice(2), v); else n.setAttribute(k, v); }
  n.append(...kids);
  return n;
};

/** One (iteration, value) point read from a progress message, or null when it carries no figure. */
export function progressPoint(message) {
  if (!message) return null;
  const it = /(\d+)\s*\/\s*\d+/.exec(message);
  const vals = [...message.matchAll(/\b(?:cost|loss|val)\s+([-+]?\d*\.?\d+(?:e[-+]?\d+)?)/gi)];
  if (!it || !vals.length) return null;
  const v = Number(vals[vals.length - 1][1]);
  return Number.isFinite(v) ? [Number(it[1]), v] : null;
}

/** The finished job's exact curve: [[iteration, value]] and what the value is. */
export function resultCurve(job) {
  const r = job.result;
  if (!r || typeof r !== 'object') return null;
  if (Array.isArray(r.history) && r.history.every((h) => 'cost' in h)) return { label: 'task cost', points: r.history.map((h) => [h.iteration, h.cost]) };
  if (Array.isArray(r.curve) && r.curve.length) {
    const c = r.curve[0];
    if ('valLoss' in c) return { label: 'validation loss', points: r.curve.map((p) => [p.iteration, p.valLoss]) };
    if ('loss' in c) return { label: 'loss', points: r.curve.map((p) => [p.iteration, p.loss]) };
  }
  return null;
}

/** Parameters to start from, per kind, for the controller on screen. */
function exampleParams(kind, desc, x) {
  const x0 = (x ?? desc.params.cost.reference.state).map((v) => Number(v.toFixed(3)));
  if (kind === 'tune-search') return { controller: desc.id, initialStates: [x0], iterations: 10, steps: 100 };
  if (kind === 'simulate') return { controller: desc.id, initialState: x0, steps: 250 };
  if (kind === 'imitate') return { task: desc.model === 'pendulum' ? 'pendulum' : 'cartpole', learn: 'cost', iterations: 20, nTrain: 8, nVal: 8 };
  if (kind === 'tune') return { controller: desc.id, data: [{ file: 'demo.csv' }], iterations: 20 };
  return {};
}

export function jobsPanel(root, getDesc, getState) {
  const live = new Map(); // job id → points gathered from progress messages
  let selected = null, kinds = [], timer = null;
  const kindSel = el('select', { id: 'job-kind', 'aria-label': 'job kind' });
  const params = el('textarea', { id: 'job-params', rows: '4', spellcheck: 'false', 'aria-label': 'job parameters (JSON)' });
  const err = el('div', { class: 'error', role: 'alert' });
  const list = el('table', { id: 'jobs' }, el('thead', {}, el('tr', {}, ...['kind', 'status', 'progress', ''].map((h) => el('th', { text: h })))), el('tbody'));
  const curveBox = el('div', { id: 'job-curve' });
  const curveTitle = el('div', { class: 'muted', text: 'select a job to see its learning curve' });
  let plot = null;
  const fill = () => { const d = getDesc(); if (d) params.value = JSON.stringify(exampleParams(kindSel.value, d, getState()), null, 1); };
  kindSel.addEventListener('change', fill);
  const start = el('button', { id: 'job-start', text: 'Start job', onclick: async () => {
    let body;
    try { body = JSON.parse(params.value || '{}'); } catch (e) { err.textContent = `parameters are not JSON: ${e.message}`; return; }
    try {
      const job = await api('POST', '/jobs', { kind: kindSel.value, params: body });
      err.textContent = ''; selected = job.id; await refresh();
    } catch (e) { err.textContent = errorText(e); }
  } });
  root.append(el('div', { class: 'jobform' }, kindSel, start), params, err, list, curveTitle, curveBox);

  async function loadKinds() {
    try {
      kinds = (await api('GET', '/jobs/kinds')).kinds;
      kindSel.replaceChildren(...kinds.map((k) => el('option', { value: k.kind, text: k.available ? k.kind : `${k.kind} (unavailable)`, ...(k.available ? {} : { disabled: '' }), title: k.description })));
      kindSel.value = kinds.find((k) => k.kind === 'tune-search' && k.available)?.kind ?? kinds.find((k) => k.available)?.kind ?? '';
      fill();
    } catch (e) { err.textContent = errorText(e); }
  }

  function drawCurve(job) {
    const exact = resultCurve(job);
    const pts = exact?.points ?? live.get(job.id) ?? [];
    curveTitle.textContent = `${job.kind} ${job.id.slice(0, 8)}: ${exact ? `${exact.label} (from the result)` : 'live, from progress messages'} — ${job.message ?? job.status}`;
    if (!plot) { curveBox.replaceChildren(); plot = new TimePlot(curveBox, { id: 'plot-job', title: exact?.label ?? 'cost / loss', xlabel: 'iteration', series: [{ key: 'c', label: exact ? 'result' : 'progress', cls: 'past' }] }); }
    const t1 = Math.max(1, ...pts.map((p) => p[0]));
    plot.draw({ series: { c: pts }, t0: 0, t1, tNow: t1 });
    plot.svg.dataset.points = String(pts.length);
    plot.svg.dataset.job = job.id;
  }

  async function refresh() {
    let jobs;
    try { ({ jobs } = await api('GET', '/jobs?limit=10')); } catch (e) { err.textContent = errorText(e); return; }
    for (const j of jobs) {
      const p = j.status === 'running' ? progressPoint(j.message) : null;
      if (p) { const arr = live.get(j.id) ?? []; if (!arr.length || arr[arr.length - 1][0] !== p[0]) arr.push(p); live.set(j.id, arr); }
    }
    list.tBodies[0].replaceChildren(...jobs.map((j) => {
      const active = j.status === 'running' || j.status === 'queued';
      const cancel = active ? el('button', { text: 'cancel', onclick: async (ev) => { ev.stopPropagation(); try { await api('DELETE', `/jobs/${encodeURIComponent(j.id)}`); await refresh(); } catch (e) { err.textContent = errorText(e); } } }) : el('span');
      return el('tr', { 'data-job': j.id, 'data-status': j.status, class: j.id === selected ? 'current' : '', onclick: () => { selected = j.id; plot = null; refresh(); } },
        el('td', { text: j.kind }), el('td', { text: j.status, title: j.error ?? j.message ?? '' }),
        el('td', {}, el('progress', { max: '1', value: String(j.progress) })), el('td', {}, cancel));
    }));
    const sel = jobs.find((j) => j.id === selected) ?? null;
    if (sel) drawCurve(sel);
    clearTimeout(timer);
    timer = setTimeout(refresh, jobs.some((j) => j.status === 'running' || j.status === 'queued') ? 700 : 5000);
  }

  return { async start() { await loadKinds(); await refresh(); }, refresh, fill };
}
