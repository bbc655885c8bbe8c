// A time-series plot in SVG with real axes: a time axis in seconds with ticks, a value axis with
// ticks and the unit, and a legend naming each drawn series. The SVG is drawn in pixels of its
// current width (no stretched viewBox), so text stays legible and the plot fills any column width.

const SVGNS = 'http://www.w3.org/2000/svg';
const H = 150;
const M = { left: 52, right: 10, top: 8, bottom: 26 };

const fmtTick = (v, step) => {
  const digits = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  const s = v.toFixed(digits);
  return s === '-0' || /^-0\.0*$/.test(s) ? s.slice(1) : s;
};

/** About `n` round tick values (1, 2, 5 × 10^k apart) covering [lo, hi]. */
export function niceTicks(lo, hi, n = 4) {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(span)) return { step: 1, ticks: [lo] };
  const raw = span / n, mag = 10 ** Math.floor(Math.log10(raw));
  // the round step nearest to span / n on a log scale (2.6 → 2, not 5: enough ticks to read)
  const step = [1, 2, 5, 10].map((f) => f * mag).reduce((a, b) => (Math.abs(Math.log(b / raw)) < Math.abs(Math.log(a / raw)) ? b : a));
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) ticks.push(Math.abs(v) < 1e-12 * step ? 0 : v);
  return { step, ticks };
}

/**
 * The value range to show: the data's range padded by 8 %, widened when flat. With a `floor` the
 * axis starts there (a solve-time axis starts at 0 ms and never goes below it).
 */
export function valueRange(values, floor) {
  let lo = Infinity, hi = -Infinity;
  for (const y of values) if (Number.isFinite(y)) { lo = Math.min(lo, y); hi = Math.max(hi, y); }
  if (!Number.isFinite(lo)) { lo = floor ?? -1; hi = (floor ?? -1) + 2; }
  if (hi - lo < 1e-9) { const w = Math.max(0.5, Math.abs(hi) * 0.1); lo -= w; hi += w; }
  const pad = 0.08 * (hi - lo);
  lo -= pad; hi += pad;
  if (floor !== undefined) { lo = floor; hi = Math.max(hi, floor + 1e-9); }
  return [lo, hi];
}

function svgEl(tag, attrs = {}) {
  const n = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  return n;
}

export class TimePlot {
  /**
   * @param container where the plot goes
   * @param o { id, title, unit, floor?, xlabel?, series: [{ key, label, cls }] } — `cls` selects the
   *   stroke style in dashboard.css (past, pred, ref, bound, alt)
   */
  constructor(container, o) {
    this.o = o;
    this.box = document.createElement('figure');
    this.box.className = 'plotbox';
    const cap = document.createElement('figcaption');
    const title = document.createElement('span');
    title.className = 'ptitle';
    title.textContent = o.unit ? `${o.title} [${o.unit}]` : o.title;
    const legend = document.createElement('span');
    legend.className = 'legend';
    this.keys = {};
    for (const s of o.series) {
      if (!s.label) continue;
      const item = document.createElement('span');
      this.keys[s.key] = item;
      item.className = `key ${s.cls}`;
      item.textContent = s.label;
      legend.append(item);
    }
    cap.append(title, legend);
    this.svg = svgEl('svg', { id: o.id, class: 'plot', height: H, role: 'img', 'aria-label': title.textContent });
    this.grid = svgEl('g', { class: 'grid' });
    this.lines = {};
    this.svg.append(this.grid);
    for (const s of o.series) { this.lines[s.key] = svgEl('polyline', { class: s.cls, 'data-series': s.key }); this.svg.append(this.lines[s.key]); }
    this.nowLine = svgEl('line', { class: 'now' });
    this.svg.append(this.nowLine);
    this.box.append(cap, this.svg);
    container.append(this.box);
  }

  /** data: { series: { key: [[t, y], …] }, t0, t1, tNow, version? } */
  draw(data) {
    const W = Math.max(120, this.svg.clientWidth || this.svg.parentElement?.clientWidth || 600);
    this.svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    this.svg.setAttribute('width', W);
    const { t0, t1 } = data;
    const values = [];
    for (const pts of Object.values(data.series)) for (const p of pts) values.push(p[1]);
    const [lo, hi] = valueRange(values, this.o.floor);
    const X = (t) => M.left + ((t - t0) / (t1 - t0)) * (W - M.left - M.right);
    const Y = (y) => M.top + (1 - (y - lo) / (hi - lo)) * (H - M.top - M.bottom);
    const g = [];
    const yt = niceTicks(lo, hi, 4), xt = niceTicks(t0, t1, Math.max(4, Math.floor(W / 70)));
    for (const v of yt.ticks) {
      g.push(svgEl('line', { class: v === 0 ? 'zero' : 'gl', x1: M.left, x2: W - M.right, y1: Y(v), y2: Y(v) }));
      const t = svgEl('text', { class: 'ytick', x: M.left - 4, y: Y(v) + 3, 'text-anchor': 'end' }); t.textContent = fmtTick(v, yt.step); g.push(t);
    }
    for (const v of xt.ticks) {
      g.push(svgEl('line', { class: 'gl', x1: X(v), x2: X(v), y1: M.top, y2: H - M.bottom }));
      const t = svgEl('text', { class: 'xtick', x: X(v), y: H - M.bottom + 12, 'text-anchor': 'middle' }); t.textContent = fmtTick(v, xt.step); g.push(t);
    }
    g.push(svgEl('rect', { class: 'frame', x: M.left, y: M.top, width: W - M.left - M.right, height: H - M.top - M.bottom }));
    const xl = svgEl('text', { class: 'xlabel', x: W - M.right, y: H - 2, 'text-anchor': 'end' }); xl.textContent = this.o.xlabel ?? 'simulated time [s]'; g.push(xl);
    this.grid.replaceChildren(...g);
    this.svg.dataset.t0 = String(t0);
    this.svg.dataset.t1 = String(t1);
    this.svg.dataset.ymin = String(lo);
    this.svg.dataset.ymax = String(hi);
    const clipT = (t) => t >= t0 - 1e-9 && t <= t1 + 1e-9;
    for (const s of this.o.series) {
      const pts = (data.series[s.key] ?? []).filter(([t, y]) => Number.isFinite(y) && clipT(t));
      this.lines[s.key].setAttribute('points', pts.map(([t, y]) => `${X(t).toFixed(1)},${Y(Math.min(hi, Math.max(lo, y))).toFixed(1)}`).join(' '));
    }
    // the legend names what is drawn: a series without points (no bounds, no reference) has no entry
    for (const [k, item] of Object.entries(this.keys)) item.hidden = !(data.series[k]?.length);
    if (data.version !== undefined && this.lines.pred) this.lines.pred.setAttribute('data-version', String(data.version));
    const xn = X(data.tNow ?? t1);
    for (const [k, v] of Object.entries({ x1: xn, x2: xn, y1: M.top, y2: H - M.bottom })) this.nowLine.setAttribute(k, String(v));
  }
}
