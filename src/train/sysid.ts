/**
 * System identification of a continuous-time model ẋ = f(x, u; θ) from sampled trajectories, by
 * multiple shooting with Levenberg–Marquardt (float64).
 *
 * Each episode is cut into segments of `segment` sample intervals. Segment j starts from its own
 * unknown state s_j (estimated jointly with θ) and is integrated through the ODE layer (src/ode
 * `odeSolve`, RK4 with `substeps` steps per sample interval, controls held over each interval) with
 * forward sensitivities, which give the exact derivatives of the predictions with respect to s_j and
 * θ. Residuals are w ∘ (x̂(t_k) − y_k) for every sample of every segment, including its first
 * (s_j − y_start). Consecutive segments share their boundary sample, which ties them together; there is
 * no separate continuity constraint. Short segments keep the problem well-conditioned (a long
 * single-shooting fit of an oscillator has many local minima); the segment length trades that against
 * how much of the dynamics each residual sees.
 *
 * Physical parameters (with a unit and a positive initial value) are estimated as φ = log θ
 * (relative steps, never negative); others (network weights of neural / grey-box models) as θ itself. Each LM step eliminates the segment states block by block (the normal matrix is
 * block-diagonal in the s_j), so a step costs O(segments·nx³ + nθ³) beyond the integrations.
 *
 * The result includes standard errors from σ̂²(JᵀJ)⁻¹ (reduced to θ), the history of the cost, and a
 * held-out multi-step prediction error (see `predictionError`).
 */
import type { ContinuousModel } from '../ode/model.js';
import { odeSolve } from '../ode/solve.js';
import type { Trajectory } from '../data/trajectory.js';
import { continuousModels, createModel } from '../../models/continuous/index.js';
import { chunkRunner } from './pool.js';
import { type CheckpointOptions, checkpointer, digest, loadCheckpoint } from './checkpoint.js';

/**
 * Checkpoints (checkpoint.ts) hold θ, the segment states, the LM damping, the history and whether the
 * fit has stopped; they are written after every `checkpointEvery` (1) LM iterations, since one LM
 * iteration (a linearisation over every segment) costs far more than writing them, and when the run is
 * cancelled. The normal-equation blocks are not stored: they are recomputed from (θ, s), which gives the
 * same bits.
 */
export interface SysidOptions extends CheckpointOptions {
  /** Initial θ (all model parameters, in the model's order). */
  theta0: ArrayLike<number>;
  /** Names of the parameters to fit (default: all); a trailing '*' matches a prefix (e.g. 'residual.*'). The others stay at theta0. */
  fit?: string[];
  /** Per-parameter scale override ('log' needs a positive value). */
  scale?: Record<string, 'log' | 'linear'>;
  /** Sample intervals per shooting segment (default 20). */
  segment?: number;
  /** RK4 steps per sample interval (default 2). */
  substeps?: number;
  /** Residual weight per state (default 1: equal noise on every state). */
  stateWeights?: number[];
  maxIter?: number;
  /** Stop when the relative cost decrease of an accepted step is below this (default 1e-12) or the step is below `stepTol` (1e-10). */
  tol?: number;
  stepTol?: number;
  /** Called after every LM iteration. Return false (or abort the signal) to stop early. */
  onIteration?: (it: SysidIteration) => void | boolean;
  signal?: AbortSignal;
  /** Worker threads for the segment integrations (default 1; results identical for any count). */
  threads?: number;
  /** Segments per work chunk (default 16). */
  chunk?: number;
}

export interface SysidIteration {
  iteration: number;
  cost: number;
  lambda: number;
  theta: Float64Array;
  accepted: boolean;
}

export interface SysidResult {
  theta: Float64Array;
  fitted: string[];
  /** Standard errors of the fitted parameters (same order as `fitted`). */
  stdErrors: number[];
  cost: number;
  /** RMS of the weighted residuals at the solution (≈ the noise σ when the model fits). */
  rms: number;
  iterations: number;
  history: { iteration: number; cost: number; lambda: number; theta: number[] }[];
  segments: number;
  residuals: number;
  stopped: 'converged' | 'max_iter' | 'cancelled';
  /** LM iteration the run was resumed from (0: a fresh run). */
  resumedFrom: number;
}

interface SysidState { theta: Float64Array; s: Float64Array; lambda: number; history: SysidResult['history']; done: boolean }
const CHECKPOINT_FORMAT = 'dmpc.checkpoint.sysid/1';

interface Segment { tr: Trajectory; a: number; b: number }

/** Expands 'prefix*' entries against the model's parameter names; unknown names are an error. */
export function expandNames(list: string[], names: string[], kind: string): string[] {
  const out: string[] = [];
  for (const n of list) {
    const hits = n.endsWith('*') ? names.filter((m) => m.startsWith(n.slice(0, -1))) : names.includes(n) ? [n] : [];
    if (!hits.length) throw new Error(`sysid: model '${kind}' has no parameter '${n}' (has ${names.length > 12 ? names.slice(0, 12).join(', ') + ', …' : names.join(', ')})`);
    for (const h of hits) if (!out.includes(h)) out.push(h);
  }
  return out;
}

/** Splits trajectories into shooting segments of ≤ `len` intervals, skipping intervals with an unknown control. */
export function shootingSegments(trs: Trajectory[], len: number): Segment[] {
  const out: Segment[] = [];
  for (const tr of trs) {
    const nu = tr.controlNames.length, N = tr.t.length;
    let a = 0;
    while (a < N - 1) {
      // skip intervals with a NaN control
      if (!uKnown(tr, a, nu)) { a++; continue; }
      let b = a;
      while (b < N - 1 && b - a < len && uKnown(tr, b, nu)) b++;
      if (b - a >= 2 || (b - a >= 1 && len === 1)) out.push({ tr, a, b });
      a = b;
    }
  }
  return out;
}
const uKnown = (tr: Trajectory, k: number, nu: number) => { for (let j = 0; j < nu; j++) if (Number.isNaN(tr.u[k * nu + j])) return false; return true; };

/** A segment's own data: samples 0..K (t [K+1], x [K+1, nx]) and the K controls between them. */
export interface SegmentData { t: Float64Array; x: Float64Array; u: Float64Array }

function segmentData(g: Segment, nx: number, nu: number): SegmentData {
  return { t: g.tr.t.slice(g.a, g.b + 1), x: g.tr.x.slice(g.a * nx, (g.b + 1) * nx), u: g.tr.u.slice(g.a * nu, g.b * nu) };
}

/** Integrates a segment from s with θ: predictions at samples 1..K and (optionally) their Jacobians. */
function integrate(model: ContinuousModel, seg: SegmentData, s: Float64Array, theta: Float64Array, substeps: number, sens: boolean) {
  const nu = model.nu, K = seg.t.length - 1;
  const u: number[][] = [];
  for (let k = 0; k < K; k++) u.push(Array.from(seg.u.subarray(k * nu, (k + 1) * nu)));
  return odeSolve(model, { x0: s, theta, t0: seg.t[0], ts: seg.t.subarray(1), u, uTimes: seg.t },
    { method: 'rk4', stepsPerSegment: substeps, sensitivity: sens ? 'forward' : 'none' });
}

/** One chunk of shooting segments: the cost, and with `linearise` the normal-equation blocks (see identify). */
export interface SegWorkInput {
  /** Registry kind and config of the model (worker threads rebuild it from these). */
  kind: string;
  config: Record<string, unknown>;
  theta: Float64Array;
  substeps: number;
  w: number[];
  /** Fitted parameter indices and ∂θ/∂φ of each. */
  idx: number[];
  dth: number[];
  segs: SegmentData[];
  /** The chunk's segment start states [segs, nx]. */
  s: Float64Array;
  linearise: boolean;
}
export interface SegWorkOutput { cost: number; A: Float64Array; B: Float64Array; gs: Float64Array; C: Float64Array; gt: Float64Array }

const modelCache = new Map<string, ContinuousModel>();

/** Evaluates a chunk of segments (pure: same input, same bits, in any thread). */
export function segmentWork(inp: SegWorkInput, model?: ContinuousModel): SegWorkOutput {
  if (!model) {
    const key = inp.kind + JSON.stringify(inp.config);
    model = modelCache.get(key);
    if (!model) { model = createModel(inp.kind, inp.config); modelCache.set(key, model); }
  }
  const nx = model.nx, nf = inp.idx.length, nth = model.parameters.length, J = inp.segs.length, w = inp.w;
  const A = new Float64Array(inp.linearise ? J * nx * nx : 0), Bm = new Float64Array(inp.linearise ? J * nx * nf : 0), gs = new Float64Array(inp.linearise ? J * nx : 0);
  const C = new Float64Array(inp.linearise ? nf * nf : 0), gt = new Float64Array(inp.linearise ? nf : 0);
  const jt = new Float64Array(nf), js = new Float64Array(nx);
  let c = 0;
  for (let j = 0; j < J; j++) {
    const g = inp.segs[j], x0 = inp.s.subarray(j * nx, (j + 1) * nx), K = g.t.length - 1;
    let sol;
    try { sol = integrate(model, g, x0, inp.theta, inp.substeps, inp.linearise); } catch (e) { if (inp.linearise) throw e; return { cost: Infinity, A, B: Bm, gs, C, gt }; }
    const jac = sol.jacobians;
    const Ao = j * nx * nx, Bo = j * nx * nf, go = j * nx;
    for (let k = -1; k < K; k++) {
      for (let i = 0; i < nx; i++) {
        // residual row (sample k+1 of the segment, state i)
        const r = w[i] * ((k < 0 ? x0[i] : sol.xs[k * nx + i]) - g.x[(k + 1) * nx + i]);
        c += r * r;
        if (!inp.linearise || !jac) continue;
        if (k < 0) { js.fill(0); js[i] = w[i]; jt.fill(0); }
        else {
          for (let l = 0; l < nx; l++) js[l] = w[i] * jac.x0[(k * nx + i) * nx + l];
          for (let q = 0; q < nf; q++) jt[q] = w[i] * jac.theta[(k * nx + i) * nth + inp.idx[q]] * inp.dth[q]; // ∂/∂φ
        }
        for (let l = 0; l < nx; l++) {
          gs[go + l] += js[l] * r;
          for (let m = 0; m < nx; m++) A[Ao + l * nx + m] += js[l] * js[m];
          for (let q = 0; q < nf; q++) Bm[Bo + l * nf + q] += js[l] * jt[q];
        }
        for (let q = 0; q < nf; q++) {
          gt[q] += jt[q] * r;
          for (let p = 0; p < nf; p++) C[q * nf + p] += jt[q] * jt[p];
        }
      }
    }
  }
  return { cost: 0.5 * c, A, B: Bm, gs, C, gt };
}

function choleskyInPlace(A: Float64Array, n: number): boolean {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= A[i * n + k] * A[j * n + k];
      if (i === j) { if (!(s > 0)) return false; A[i * n + i] = Math.sqrt(s); } else A[i * n + j] = s / A[j * n + j];
    }
  }
  return true;
}
function cholSolve(L: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) { let s = b[i]; for (let k = 0; k < i; k++) s -= L[i * n + k] * b[k]; b[i] = s / L[i * n + i]; }
  for (let i = n - 1; i >= 0; i--) { let s = b[i]; for (let k = i + 1; k < n; k++) s -= L[k * n + i] * b[k]; b[i] = s / L[i * n + i]; }
}

/**
 * Identifies θ (synchronous: the segment chunks run in this thread). `identifyParallel` runs the same
 * chunks on worker threads and returns the same bits.
 */
export function identify(model: ContinuousModel, data: Trajectory[], opts: SysidOptions): SysidResult {
  if ((opts.threads ?? 1) > 1) throw new Error('sysid: identify runs in this thread; use identifyParallel for threads > 1');
  const gen = identifyCore(model, data, opts);
  let r = gen.next();
  while (!r.done) r = gen.next(r.value.map((inp) => segmentWork(inp, model)));
  return r.value;
}

/** identify with the segment chunks on `opts.threads` worker threads (piscina). */
export async function identifyParallel(model: ContinuousModel, data: Trajectory[], opts: SysidOptions): Promise<SysidResult> {
  const threads = opts.threads ?? 1;
  if (threads > 1 && !(model.kind in continuousModels)) throw new Error(`sysid: threads > 1 needs a registered model kind ('${model.kind}' is not)`);
  const runner = chunkRunner((inp: SegWorkInput) => segmentWork(inp, model), new URL('./sysidWorker.ts', import.meta.url), threads);
  try {
    const gen = identifyCore(model, data, opts);
    let r = gen.next();
    while (!r.done) r = gen.next(await runner.map(r.value));
    return r.value;
  } finally {
    await runner.close();
  }
}

function* identifyCore(model: ContinuousModel, data: Trajectory[], opts: SysidOptions): Generator<SegWorkInput[], SysidResult, SegWorkOutput[]> {
  const { nx } = model;
  const names = model.parameters.map((p) => p.name);
  for (const tr of data) {
    // any model with the same state and control layout can be fitted (e.g. a grey-box model to pendulum data)
    if (tr.stateNames.join(',') !== model.stateNames.join(',') || tr.controlNames.join(',') !== model.controlNames.join(',')) {
      throw new Error(`sysid: data has states (${tr.stateNames.join(', ')}) and controls (${tr.controlNames.join(', ')}); model '${model.kind}' has (${model.stateNames.join(', ')}) and (${model.controlNames.join(', ')})`);
    }
  }
  const fitted = expandNames(opts.fit ?? names, names, model.kind);
  const idx = fitted.map((n) => names.indexOf(n));
  const theta = Float64Array.from(opts.theta0);
  if (theta.length !== names.length) throw new Error(`sysid: theta0 has ${theta.length} entries, expected ${names.length}`);
  const logScale = idx.map((k) => {
    const want = opts.scale?.[names[k]] ?? (model.parameters[k].unit !== '' && theta[k] > 0 ? 'log' : 'linear');
    if (want === 'log' && !(theta[k] > 0)) throw new Error(`sysid: the initial ${names[k]} must be positive to be fitted in log scale, got ${theta[k]}`);
    return want === 'log';
  });
  /** ∂θ/∂φ of fitted parameter q. */
  const dTheta = (q: number) => (logScale[q] ? theta[idx[q]] : 1);
  const nf = idx.length;
  const S = opts.segment ?? 20, sub = opts.substeps ?? 2;
  const w = opts.stateWeights ?? new Array<number>(nx).fill(1);
  if (w.length !== nx) throw new Error(`sysid: stateWeights has ${w.length} entries, expected ${nx}`);
  const segs = shootingSegments(data, S);
  if (!segs.length) throw new Error('sysid: no segment with known controls and at least 2 sample intervals');
  const J = segs.length;
  // segment states: start at the measured first sample
  const s = new Float64Array(J * nx);
  segs.forEach((g, j) => s.set(g.tr.x.subarray(g.a * nx, (g.a + 1) * nx), j * nx));
  const nres = segs.reduce((acc, g) => acc + (g.b - g.a + 1) * nx, 0);

  // Work is cut into chunks of `chunk` segments (independent of the thread count) and combined in
  // chunk order, so any number of threads gives the same bits. Threads need a registry model.
  const chunk = opts.chunk ?? 16;
  const segData = segs.map((g) => segmentData(g, nx, model.nu));
  const config = model.config?.() ?? {};
  const A = new Float64Array(J * nx * nx), Bm = new Float64Array(J * nx * nf), gs = new Float64Array(J * nx);
  const C = new Float64Array(nf * nf), gt = new Float64Array(nf);
  function* work(th: Float64Array, ss: Float64Array, lin: boolean): Generator<SegWorkInput[], number, SegWorkOutput[]> {
    const dth = idx.map((_, q) => (logScale[q] ? th[idx[q]] : 1));
    const inputs: SegWorkInput[] = [];
    for (let a = 0; a < J; a += chunk) {
      const b = Math.min(J, a + chunk);
      inputs.push({ kind: model.kind, config, theta: th, substeps: sub, w, idx, dth, segs: segData.slice(a, b), s: ss.slice(a * nx, b * nx), linearise: lin });
    }
    const outs = yield inputs;
    let c = 0;
    if (lin) { C.fill(0); gt.fill(0); }
    outs.forEach((o, ci) => {
      c += o.cost;
      if (!lin) return;
      const a = ci * chunk;
      A.set(o.A, a * nx * nx); Bm.set(o.B, a * nx * nf); gs.set(o.gs, a * nx);
      for (let k = 0; k < nf * nf; k++) C[k] += o.C[k];
      for (let k = 0; k < nf; k++) gt[k] += o.gt[k];
    });
    return c;
  }

  /** Solves the damped reduced system; returns (δφ, δs) or null when not positive definite. Also the reduced matrix for covariances. */
  const solveStep = (lambda: number): { dphi: Float64Array; ds: Float64Array; Sred: Float64Array } | null => {
    const Sred = Float64Array.from(C), rhs = Float64Array.from(gt);
    for (let q = 0; q < nf; q++) Sred[q * nf + q] += lambda * C[q * nf + q] + 1e-12;
    const Lj = new Float64Array(J * nx * nx), Y = new Float64Array(nx * nf), ys = new Float64Array(nx);
    for (let j = 0; j < J; j++) {
      const L = Lj.subarray(j * nx * nx, (j + 1) * nx * nx);
      L.set(A.subarray(j * nx * nx, (j + 1) * nx * nx));
      for (let i = 0; i < nx; i++) L[i * nx + i] += lambda * L[i * nx + i] + 1e-12;
      if (!choleskyInPlace(L, nx)) return null;
      // Y = A⁻¹ B (column by column), ys = A⁻¹ g_s
      for (let q = 0; q < nf; q++) {
        for (let i = 0; i < nx; i++) ys[i] = Bm[j * nx * nf + i * nf + q];
        cholSolve(L, nx, ys);
        for (let i = 0; i < nx; i++) Y[i * nf + q] = ys[i];
      }
      for (let i = 0; i < nx; i++) ys[i] = gs[j * nx + i];
      cholSolve(L, nx, ys);
      for (let q = 0; q < nf; q++) {
        for (let p = 0; p < nf; p++) { let acc = 0; for (let i = 0; i < nx; i++) acc += Bm[j * nx * nf + i * nf + q] * Y[i * nf + p]; Sred[q * nf + p] -= acc; }
        let acc = 0; for (let i = 0; i < nx; i++) acc += Bm[j * nx * nf + i * nf + q] * ys[i];
        rhs[q] -= acc;
      }
    }
    const Ls = Float64Array.from(Sred);
    if (nf && !choleskyInPlace(Ls, nf)) return null;
    const dphi = new Float64Array(nf);
    for (let q = 0; q < nf; q++) dphi[q] = -rhs[q];
    if (nf) cholSolve(Ls, nf, dphi);
    const ds = new Float64Array(J * nx);
    for (let j = 0; j < J; j++) {
      const L = Lj.subarray(j * nx * nx, (j + 1) * nx * nx);
      for (let i = 0; i < nx; i++) {
        let acc = gs[j * nx + i];
        for (let q = 0; q < nf; q++) acc += Bm[j * nx * nf + i * nf + q] * dphi[q];
        ys[i] = -acc;
      }
      cholSolve(L, nx, ys);
      ds.set(ys, j * nx);
    }
    return { dphi, ds, Sred };
  };

  const maxIter = opts.maxIter ?? 50, tol = opts.tol ?? 1e-12, stepTol = opts.stepTol ?? 1e-10;
  // everything that changes the numbers along the way (maxIter and the tolerances only decide when to
  // stop, so a resumed run may be given more iterations; any thread count gives the same bits)
  const key = JSON.stringify({
    model: model.kind, config, fit: fitted, theta0: Array.from(opts.theta0), logScale, segment: S, substeps: sub, w, chunk,
    data: digest(data.flatMap((tr) => [tr.t, tr.x, tr.u])),
  });
  const checkpoints = checkpointer(opts, CHECKPOINT_FORMAT, key, 1);
  const ck = loadCheckpoint<SysidState>(opts, CHECKPOINT_FORMAT, key);
  let lambda = 1e-3, it = 0, resumedDone = false;
  let history: SysidResult['history'] = [];
  if (ck) {
    theta.set(ck.state.theta); s.set(ck.state.s); lambda = ck.state.lambda; history = ck.state.history;
    it = ck.iteration; resumedDone = ck.state.done;
  }
  // (θ, s) → cost and normal-equation blocks: a resumed run recomputes what the interrupted one held
  let cost = yield* work(theta, s, true);
  if (!ck) history.push({ iteration: 0, cost, lambda, theta: Array.from(theta) });
  const save = (iteration: number, done: boolean) => checkpoints.save(iteration, { theta, s, lambda, history, done } satisfies SysidState);
  let stopped: SysidResult['stopped'] = resumedDone ? 'converged' : 'max_iter';
  const trialTheta = new Float64Array(names.length), trialS = new Float64Array(J * nx);
  for (; it < maxIter && !resumedDone; it++) {
    if (opts.signal?.aborted) { if (it > 0) save(it, false); stopped = 'cancelled'; break; }
    let accepted = false, done = false;
    for (let tries = 0; tries < 30; tries++) {
      const st = solveStep(lambda);
      if (!st) { lambda *= 10; continue; }
      trialTheta.set(theta);
      for (let q = 0; q < nf; q++) trialTheta[idx[q]] = logScale[q] ? theta[idx[q]] * Math.exp(st.dphi[q]) : theta[idx[q]] + st.dphi[q];
      for (let i = 0; i < J * nx; i++) trialS[i] = s[i] + st.ds[i];
      const c = yield* work(trialTheta, trialS, false);
      if (c < cost) {
        const rel = (cost - c) / Math.max(cost, 1e-300);
        const stepMax = Math.max(0, ...Array.from(st.dphi, Math.abs));
        theta.set(trialTheta); s.set(trialS);
        lambda = Math.max(lambda / 3, 1e-12);
        accepted = true;
        if (rel < tol || stepMax < stepTol) done = true;
        break;
      }
      lambda *= 4;
      if (lambda > 1e12) { done = true; break; }
    }
    cost = yield* work(theta, s, true);
    history.push({ iteration: it + 1, cost, lambda, theta: Array.from(theta) });
    const stop = done || !accepted;
    if (checkpoints.due(it + 1) || stop) save(it + 1, stop);
    const cont = opts.onIteration?.({ iteration: it + 1, cost, lambda, theta: Float64Array.from(theta), accepted });
    if (stop) { stopped = 'converged'; it++; break; }
    if (cont === false) { save(it + 1, false); stopped = 'cancelled'; it++; break; }
  }
  // standard errors from the undamped reduced normal matrix: cov(φ) = σ̂² S⁻¹, se(θ) ≈ |∂θ/∂φ|·se(φ)
  const st = solveStep(0);
  const dof = Math.max(1, nres - nf - J * nx);
  const sigma2 = (2 * cost) / dof;
  const stdErrors = idx.map((k, q) => {
    if (!st) return NaN;
    const L = Float64Array.from(st.Sred);
    if (!choleskyInPlace(L, nf)) return NaN;
    const e = new Float64Array(nf); e[q] = 1;
    cholSolve(L, nf, e);
    return dTheta(q) * Math.sqrt(sigma2 * e[q]);
  });
  return {
    theta: Float64Array.from(theta), fitted, stdErrors, cost, rms: Math.sqrt((2 * cost) / nres), iterations: it,
    history, segments: J, residuals: nres, stopped, resumedFrom: ck?.iteration ?? 0,
  };
}

/**
 * Held-out multi-step prediction error: from the measured state at the start of each window of
 * `horizon` samples, integrate open-loop with θ and the recorded controls; returns the RMS error per
 * state over all predicted samples, and the predicted windows (for plots).
 */
export function predictionError(model: ContinuousModel, theta: ArrayLike<number>, data: Trajectory[], horizon: number, substeps = 2) {
  const nx = model.nx;
  const segs = shootingSegments(data, horizon);
  const se = new Float64Array(nx);
  let count = 0;
  const windows: { t: number[]; predicted: number[][]; measured: number[][] }[] = [];
  const th = Float64Array.from(theta);
  for (const g of segs) {
    const x0 = g.tr.x.slice(g.a * nx, (g.a + 1) * nx);
    const sol = integrate(model, segmentData(g, nx, model.nu), x0, th, substeps, false);
    const win = { t: [g.tr.t[g.a]], predicted: [Array.from(x0)], measured: [Array.from(x0)] };
    for (let k = 0; k < g.b - g.a; k++) {
      const m = Array.from(g.tr.x.subarray((g.a + 1 + k) * nx, (g.a + 2 + k) * nx)), p = Array.from(sol.xs.subarray(k * nx, (k + 1) * nx));
      for (let i = 0; i < nx; i++) se[i] += (p[i] - m[i]) ** 2;
      count++;
      win.t.push(g.tr.t[g.a + 1 + k]); win.predicted.push(p); win.measured.push(m);
    }
    windows.push(win);
  }
  if (!count) throw new Error('prediction error: no held-out window with known controls');
  const rms = Array.from(se, (v) => Math.sqrt(v / count));
  return { rms, rmsTotal: Math.sqrt(se.reduce((a, v) => a + v, 0) / (count * nx)), samples: count, windows };
}

/** Splits each trajectory at (1 − holdout) of its samples: training head, held-out tail. */
export function holdoutSplit(trs: Trajectory[], holdout: number): { train: Trajectory[]; test: Trajectory[] } {
  if (!(holdout >= 0 && holdout < 1)) throw new Error(`sysid: holdout must be in [0, 1) (got ${holdout})`);
  const train: Trajectory[] = [], test: Trajectory[] = [];
  for (const tr of trs) {
    const N = tr.t.length, cut = Math.round(N * (1 - holdout));
    const nx = tr.stateNames.length, nu = tr.controlNames.length;
    const part = (a: number, b: number): Trajectory => ({ ...tr, t: tr.t.slice(a, b), x: tr.x.slice(a * nx, b * nx), u: tr.u.slice(a * nu, b * nu) });
    train.push(part(0, cut));
    if (holdout > 0 && N - cut >= 2) test.push(part(cut - 1, N));
  }
  return { train, test };
}
