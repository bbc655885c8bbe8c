// A picture of the plant, redrawn from every telemetry frame: the robot where the state says it
// is, its predicted path over the MPC horizon (dashed) and the goal (the reference). One drawing
// per model kind; the geometry follows the models' conventions (models/continuous/*.ts):
//   cartpole  x = [p, v, q, ω], q measured from the downward vertical (q = π is upright)
//   pendulum  x = [q, ω], the same angle convention
//   diffdrive x = [px, py, ψ, v, ω], ψ from the x axis, counter-clockwise

const SVGNS = 'http://www.w3.org/2000/svg';
const W = 600, H = 240;

function svgEl(tag, attrs = {}) {
  const n = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  return n;
}
const pts = (list) => list.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
const param = (desc, name, fallback) => desc.modelParameters?.find((p) => p.name === name)?.value ?? fallback;
const finiteRows = (rows) => rows.filter((r) => r.every((v) => v === null || Number.isFinite(v)) && !r.includes(null));

/** Cart on a track, pole hinged on it; the view follows the cart when it leaves the middle 3 m. */
function cartpole(svg, desc) {
  const l = param(desc, 'l', 0.5), span = 4, s = W / span, yTrack = 170;
  let center = 0;
  const track = svgEl('line', { class: 'track', x1: 0, x2: W, y1: yTrack + 14, y2: yTrack + 14 });
  const ticks = svgEl('g', { class: 'ticks' });
  const goal = svgEl('path', { class: 'goal', d: 'M0,0 l-7,12 h14 z' });
  const pred = svgEl('polyline', { class: 'predpath' });
  const body = svgEl('g', { id: 'robot-body', class: 'robot' });
  const cart = svgEl('rect', { x: -28, y: -12, width: 56, height: 24, rx: 3 });
  const pole = svgEl('line', { class: 'pole', x1: 0, y1: 0 });
  const bob = svgEl('circle', { r: 6, class: 'bob' });
  body.append(cart, pole, bob, svgEl('circle', { r: 3, class: 'hinge' }));
  svg.append(track, ticks, goal, pred, body);
  const X = (p) => W / 2 + (p - center) * s;
  return (f) => {
    const [p, , q] = f.x;
    if (Math.abs(p - center) > 1.5) center = Math.round(p);
    ticks.replaceChildren(...Array.from({ length: span + 1 }, (_, k) => Math.ceil(center - span / 2) + k).flatMap((m) => {
      const t = svgEl('text', { x: X(m), y: yTrack + 30, 'text-anchor': 'middle' }); t.textContent = `${m} m`;
      return [svgEl('line', { x1: X(m), x2: X(m), y1: yTrack + 10, y2: yTrack + 18 }), t];
    }));
    const tip = (pp, qq) => [X(pp) + l * s * Math.sin(qq), yTrack + l * s * Math.cos(qq)]; // screen y points down
    body.setAttribute('transform', `translate(${X(p).toFixed(1)},${yTrack})`);
    body.dataset.pose = `${p.toFixed(3)},${q.toFixed(3)}`;
    const [tx, ty] = tip(p, q);
    pole.setAttribute('x2', (tx - X(p)).toFixed(1)); pole.setAttribute('y2', (ty - yTrack).toFixed(1));
    bob.setAttribute('cx', (tx - X(p)).toFixed(1)); bob.setAttribute('cy', (ty - yTrack).toFixed(1));
    pred.setAttribute('points', pts(finiteRows(f.predicted.x).map((r) => tip(r[0], r[2]))));
    goal.setAttribute('transform', `translate(${X(f.reference[0]).toFixed(1)},${yTrack + 18})`);
  };
}

/** A rod about a fixed pivot; the reference angle drawn as a faint rod. */
function pendulum(svg) {
  const cx = W / 2, cy = H / 2, L = 95;
  const tip = (q) => [cx + L * Math.sin(q), cy + L * Math.cos(q)];
  const ref = svgEl('line', { class: 'goalrod', x1: cx, y1: cy });
  const pred = svgEl('polyline', { class: 'predpath' });
  const body = svgEl('g', { id: 'robot-body', class: 'robot' });
  const rod = svgEl('line', { class: 'pole', x1: cx, y1: cy });
  const bob = svgEl('circle', { r: 9, class: 'bob' });
  body.append(rod, bob);
  svg.append(svgEl('circle', { class: 'track', cx, cy, r: L, fill: 'none' }), ref, pred, body, svgEl('circle', { cx, cy, r: 4, class: 'hinge' }));
  return (f) => {
    const q = f.x[0], [tx, ty] = tip(q), [rx, ry] = tip(f.reference[0]);
    rod.setAttribute('x2', tx.toFixed(1)); rod.setAttribute('y2', ty.toFixed(1));
    bob.setAttribute('cx', tx.toFixed(1)); bob.setAttribute('cy', ty.toFixed(1));
    body.dataset.pose = q.toFixed(3);
    ref.setAttribute('x2', rx.toFixed(1)); ref.setAttribute('y2', ry.toFixed(1));
    pred.setAttribute('points', pts(finiteRows(f.predicted.x).map((r) => tip(r[0]))));
  };
}

/** Top view: trail of the last seconds, the predicted path, the goal; the view fits all three. */
function diffdrive(svg) {
  const trail = [];
  const grid = svgEl('g', { class: 'ticks' });
  const past = svgEl('polyline', { class: 'trail' });
  const pred = svgEl('polyline', { class: 'predpath' });
  const goal = svgEl('circle', { class: 'goal', r: 6 });
  const body = svgEl('g', { id: 'robot-body', class: 'robot' });
  body.append(svgEl('path', { d: 'M14,0 L-10,-9 L-6,0 L-10,9 Z' }));
  svg.append(grid, past, pred, goal, body);
  return (f) => {
    trail.push([f.x[0], f.x[1]]);
    if (trail.length > 400) trail.shift();
    const p = finiteRows(f.predicted.x).map((r) => [r[0], r[1]]);
    const all = [...trail, ...p, [f.reference[0], f.reference[1]]];
    const xs = all.map((a) => a[0]), ys = all.map((a) => a[1]);
    const mx = (Math.min(...xs) + Math.max(...xs)) / 2, my = (Math.min(...ys) + Math.max(...ys)) / 2;
    const span = Math.max(3, 1.2 * (Math.max(...xs) - Math.min(...xs)), 1.2 * (Math.max(...ys) - Math.min(...ys)) * (W / H));
    const s = W / span;
    const X = (x) => W / 2 + (x - mx) * s, Y = (y) => H / 2 - (y - my) * s;
    const step = span > 12 ? 5 : 1;
    const lines = [];
    for (let m = Math.ceil((mx - span / 2) / step) * step; m <= mx + span / 2; m += step) lines.push(svgEl('line', { x1: X(m), x2: X(m), y1: 0, y2: H }));
    for (let m = Math.ceil((my - span / 2) / step) * step; m <= my + span / 2; m += step) lines.push(svgEl('line', { x1: 0, x2: W, y1: Y(m), y2: Y(m) }));
    const lab = svgEl('text', { x: 6, y: H - 6 }); lab.textContent = `grid ${step} m`;
    grid.replaceChildren(...lines, lab);
    past.setAttribute('points', pts(trail.map(([x, y]) => [X(x), Y(y)])));
    pred.setAttribute('points', pts(p.map(([x, y]) => [X(x), Y(y)])));
    goal.setAttribute('cx', X(f.reference[0]).toFixed(1)); goal.setAttribute('cy', Y(f.reference[1]).toFixed(1));
    body.setAttribute('transform', `translate(${X(f.x[0]).toFixed(1)},${Y(f.x[1]).toFixed(1)}) rotate(${(-f.x[2] * 180 / Math.PI).toFixed(1)})`);
    body.dataset.pose = `${f.x[0].toFixed(3)},${f.x[1].toFixed(3)},${f.x[2].toFixed(3)}`;
  };
}

const DRAWINGS = { cartpole, pendulum, diffdrive };

/** Builds the picture for `desc.model` in `container`; returns the function that redraws it from a frame. */
export function plantView(container, desc) {
  const make = DRAWINGS[desc.model];
  container.replaceChildren();
  if (!make) {
    const p = document.createElement('p');
    p.className = 'muted';
    p.textContent = `no drawing for model '${desc.model}' (drawn: ${Object.keys(DRAWINGS).join(', ')}); the plots below show its state`;
    container.append(p);
    return () => {};
  }
  const svg = svgEl('svg', { id: 'robot', class: 'robot-view', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${desc.model}: robot, predicted path (dashed), goal` });
  container.append(svg);
  return make(svg, desc);
}
