// Interactive page for the OpenAPI document at /docs/json: every operation with its parameters,
// request and response schemas, and a form that sends the request and shows the answer.
const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...kids) => {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) { if (k === 'text') n.textContent = v; else if (k.startsWith('on')) n.addEventListener(k.slice(2), v); else n.setAttribute(k, v); }
  n.append(...kids);
  return n;
};
/** Text with Markdown inline code (`like this`) as nodes: the backticks become <code>, never shown literally. */
export function inlineMarkdown(text) {
  return String(text).split(/(`[^`]+`)/).filter(Boolean).map((part) => (/^`[^`]+`$/.test(part) ? el('code', { text: part.slice(1, -1) }) : document.createTextNode(part)));
}
$('token').value = localStorage.getItem('dmpc.token') ?? '';
$('token').addEventListener('change', () => localStorage.setItem('dmpc.token', $('token').value.trim()));

function operation(path, method, op) {
  const M = method.toUpperCase();
  const inputs = {};
  const params = el('div');
  for (const p of op.parameters ?? []) {
    const inp = el('input', { class: 'p', placeholder: p.schema?.default !== undefined ? String(p.schema.default) : '', value: p.name === 'id' ? 'default' : '' });
    inputs[p.name] = { inp, where: p.in };
    params.append(el('div', {}, el('code', { text: `${p.in} ${p.name}${p.required ? ' *' : ''} ` }), inp));
  }
  const rb = op.requestBody?.content?.['application/json'];
  const body = rb ? el('textarea', {}) : null;
  if (body) body.value = JSON.stringify(rb.example ?? {}, null, 1);
  const out = el('pre', { text: '' });
  const send = el('button', { text: 'Send', onclick: async () => {
    let url = path;
    const q = new URLSearchParams();
    for (const [name, { inp, where }] of Object.entries(inputs)) {
      if (where === 'path') url = url.replace(`{${name}}`, encodeURIComponent(inp.value));
      else if (inp.value !== '') q.set(name, inp.value);
    }
    if ([...q].length) url += `?${q}`;
    const headers = { 'x-dmpc-user': 'docs page' };
    const tok = $('token').value.trim();
    if (tok) headers.authorization = `Bearer ${tok}`;
    if (body) headers['content-type'] = 'application/json';
    if (op.operationId === 'telemetry') { out.textContent = `open ${url} with EventSource (the page would never finish loading a stream)`; return; }
    const t0 = performance.now();
    try {
      const res = await fetch(url, { method: M, headers, body: body ? body.value : undefined });
      const text = await res.text();
      let shown = text;
      try { shown = JSON.stringify(JSON.parse(text), null, 1); } catch { /* text */ }
      out.textContent = `${res.status} ${res.statusText} (${(performance.now() - t0).toFixed(1)} ms)\n${shown}`;
    } catch (e) { out.textContent = String(e); }
  } });
  const schemas = el('details', {}, el('summary', { text: 'schemas' }),
    ...(rb ? [el('div', { text: 'request body' }), el('pre', { text: JSON.stringify(rb.schema, null, 1) })] : []),
    ...Object.entries(op.responses).flatMap(([code, r]) => [el('div', {}, ...inlineMarkdown(`${code}: ${r.description}`)),
      ...(r.content ? Object.values(r.content).map((c) => el('pre', { text: JSON.stringify(c.schema, null, 1) })) : [])]));
  const lock = op.security?.some((s) => s.bearer) ? (op.security.length === 1 ? ' [token]' : ' [token off loopback]') : '';
  return el('details', { class: 'op', id: `op-${op.operationId}` },
    el('summary', {}, el('span', { class: `m ${M}`, text: M }), el('code', { text: path }), document.createTextNode(' — '), ...inlineMarkdown(op.summary), el('span', { class: 'lock', text: lock })),
    ...(op.description ? [el('p', {}, ...inlineMarkdown(op.description))] : []), params, ...(body ? [body] : []), send, out, schemas);
}

const doc = await (await fetch('/docs/json')).json();
$('intro').replaceChildren(...inlineMarkdown(`${doc.info.description} (version ${doc.info.version})`));
const byTag = {};
for (const [path, ops] of Object.entries(doc.paths)) for (const [m, op] of Object.entries(ops)) (byTag[op.tags[0]] ??= []).push([path, m, op]);
for (const [tag, ops] of Object.entries(byTag)) $('ops').append(el('h2', { text: tag }), ...ops.map(([p, m, op]) => operation(p, m, op)));
