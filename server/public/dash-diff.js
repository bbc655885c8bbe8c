// Differences between two parameter sets, in the two forms the dashboard needs: the PATCH document
// that turns `base` into `next` (the API's merge rules: objects merge, arrays replace whole, null
// removes an optional entry), and a list of changed leaves a person reads ("cost.R.0: 0.01 → 0.5").

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** Objects of a parameter set that the API replaces whole instead of merging (server/params.ts mergePatch). */
const REPLACED_WHOLE = new Set(['constraints.x.soft']);

/** The smallest PATCH (under the API's merge rules) that turns `base` into `next`; {} when equal. */
export function patchBetween(base, next, prefix = []) {
  const out = {};
  for (const k of new Set([...Object.keys(base ?? {}), ...Object.keys(next ?? {})])) {
    const a = base?.[k], b = next?.[k], path = [...prefix, k];
    if (same(a, b)) continue;
    if (b === undefined) out[k] = null;
    else if (isObj(a) && isObj(b) && !REPLACED_WHOLE.has(path.join('.'))) { const sub = patchBetween(a, b, path); if (Object.keys(sub).length) out[k] = sub; }
    else out[k] = structuredClone(b);
  }
  return out;
}

/** Every changed leaf (array entries one by one) as { path, from, to }; `undefined` = absent. */
export function changedLeaves(a, b, prefix = []) {
  if (same(a, b)) return [];
  if (isObj(a) && isObj(b)) {
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].flatMap((k) => changedLeaves(a[k], b[k], [...prefix, k]));
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    return a.flatMap((v, i) => changedLeaves(v, b[i], [...prefix, i]));
  }
  return [{ path: prefix, from: a, to: b }];
}

const show = (v) => (v === undefined ? '(none)' : v === null ? 'none' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** A table of changes, one row per leaf: path, old value, new value. */
export function diffTable(a, b, labels = ['from', 'to']) {
  const rows = changedLeaves(a, b);
  const table = document.createElement('table');
  table.className = 'diff';
  const head = table.createTHead().insertRow();
  for (const h of ['parameter', ...labels]) { const th = document.createElement('th'); th.textContent = h; head.append(th); }
  const body = table.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    tr.dataset.path = r.path.join('.');
    for (const [cls, text] of [['path', r.path.join('.')], ['from', show(r.from)], ['to', show(r.to)]]) {
      const td = tr.insertCell(); td.className = cls; td.textContent = text;
    }
  }
  if (!rows.length) { const td = body.insertRow().insertCell(); td.colSpan = 3; td.textContent = 'no differences'; }
  return table;
}

/** The API's merge rule, for re-basing staged edits on a newer version: objects merge, arrays and scalars replace, null removes. */
export function mergePatch(base, patch, prefix = []) {
  const out = structuredClone(base);
  for (const [k, v] of Object.entries(patch)) {
    const path = [...prefix, k];
    if (v === null) delete out[k];
    else if (isObj(v) && isObj(out[k]) && !REPLACED_WHOLE.has(path.join('.'))) out[k] = mergePatch(out[k], v, path);
    else out[k] = structuredClone(v);
  }
  return out;
}
