/**
 * The MPC interior point on a kernel backend (backend.ts): the linear MPC of src/mpc with hard
 * constraints (u bounds, x bounds, general rows [D E]τ ≤ d), one problem per GPU thread. Same
 * algorithm, options, statuses, iteration counts and gradient policy as mpcSolve / mpcBackward (tested
 * to ≤ 1e-10 on p1, p6 and random problems); soft constraints are refused with a DmpcInputError (use
 * the CPU solver for them).
 *
 * Device buffers are allocated once per solver and grown on demand; a backward pass reuses the forward
 * factorizations left in the device scratch when it follows its own forward solve.
 */
import { DmpcInputError, SingularJacobianError } from '../common/errors.js';
import type { GradStatus, OnFailure, SolveStatus } from '../common/status.js';
import {
  type MpcProblem, type Stage, type MpcOptions, type WarmStart, type MpcGrad,
  off, ROW_U_LOWER, ROW_U_UPPER, ROW_X_LOWER, ROW_X_UPPER, ROW_GENERAL, SOFT_NONE,
} from '../mpc/index.js';
import { activeRowsDependent } from '../mpc/licq.js';
import { structurePattern } from '../mpc/riccati.js';
import type { StagePattern } from '../mpc/kernels.js';
import type { MpcSolverState } from '../mpc/ipm.js';
import { DeviceBuffers, type KernelBackend } from './backend.js';
import { INFO, N_INFO, packArgs, workSize, type MpcArgs } from './args.js';

const OP = 'mpc';
/** The CPU solver's defaults (ipm.ts), so that 'c' / 'cuda' solve the same problem by default. */
const DEFAULTS: Required<MpcOptions> = { maxIter: 50, tol: 1e-9, polish: true, polishMu: 1, polishPenalty: 1e8 };
const STATUS: SolveStatus[] = ['optimal', 'max_iter', 'primal_infeasible', 'numerical_error'];

export interface KernelSolution {
  solver: KernelMpcSolver;
  /** Which solve of its solver this is (a backward pass after a later solve re-uploads the state). */
  generation: number;
  pr: MpcProblem;
  opts: Required<MpcOptions>;
  status: SolveStatus[];
  iterations: Int32Array;
  polished: Uint8Array;
  objective: Float64Array;
  /** [B, T, nx] and [B, T, nu]. */
  x: Float64Array;
  u: Float64Array;
  /** The solver state as the kernels left it: τ [B, T, n], ν [B, T, nx], s, λ, row classes [B, T, m], info [B, N_INFO]. */
  tau: Float64Array; nu: Float64Array; s: Float64Array; lam: Float64Array; rowState: Float64Array; info: Float64Array;
}

export interface KernelBackwardOptions {
  refineSteps?: number;
  onFailure?: OnFailure;
}

/** The problem data the kernels read, as given (shared data once, with stride 0): uploads and strides. */
function uploadProblem(bf: DeviceBuffers, pr: MpcProblem) {
  // the cost matrices on their own (the largest part), everything else in one packed upload
  const [c, F, f, x0, h, act, rowIdx, rowSign, rowKind, G, gPtr, gCol] = bf.putPacked('problem', [
    pr.c.data, pr.F.data, pr.f.data, pr.x0, pr.h, pr.act, pr.rows.idx, pr.rows.sign, pr.rows.kind,
    pr.G ? pr.G.data : new Float64Array(0), pr.gPtr, pr.gCol,
  ]);
  return {
    addr: { C: bf.put('C', pr.C.data), c, F, f, x0, h, act, rowIdx, rowSign, rowKind, G: pr.G ? G : 0n, gPtr, gCol },
    strides: {
      Csb: pr.C.sb, Cst: pr.C.st, csb: pr.c.sb, cst: pr.c.st, Fsb: pr.F.sb, Fst: pr.F.st, fsb: pr.f.sb, fst: pr.f.st,
      Gsb: pr.G?.sb ?? 0, Gst: pr.G?.st ?? 0, mg: pr.nc, pad: 0,
    },
  };
}

/** Problem data addresses and strides of the problem uploaded last (the backward pass reads them). */
type Uploaded = ReturnType<typeof uploadProblem>;

/** Refuses what the kernels do not implement (general rows, soft rows), naming the argument. */
export function checkKernelProblem(pr: MpcProblem, solver: string): void {
  const r = pr.rows;
  for (let i = 0; i < r.m; i++) {
    if (r.soft[i] !== SOFT_NONE) throw new DmpcInputError(OP, 'soft', `soft constraints are not supported by solver '${solver}' (hard bounds and general rows only); use the default float64 solver`);
  }
}

/** Where the last solve's wall time went (ms): host-side setup and upload, the kernel, the download and unpacking. */
export interface KernelTiming { uploadMs: number; kernelMs: number; downloadMs: number }

export class KernelMpcSolver {
  /** Timing of the last solve (for the GPU check script; benchmarks, not tests, report it). */
  lastTiming: KernelTiming = { uploadMs: 0, kernelMs: 0, downloadMs: 0 };
  private readonly bufs: DeviceBuffers;
  private generation = 0;
  private current: { pr: MpcProblem; up: Uploaded } | null = null;

  constructor(readonly backend: KernelBackend) { this.bufs = new DeviceBuffers(backend); }

  /**
   * Solves all B problems (cold, or warm from a previous plan and multipliers). `reuse`: a solution of
   * this solver for a problem of the same dimensions whose arrays are rewritten instead of allocated
   * (online use, as mpcInit's `reuse`); that solution must no longer be needed.
   */
  solve(pr: MpcProblem, options: MpcOptions = {}, warm?: WarmStart, reuse?: KernelSolution): KernelSolution {
    checkKernelProblem(pr, this.backend.name);
    const opts = { ...DEFAULTS, ...options };
    const { B, T, nx, nu, n } = pr, m = pr.rows.m;
    if (warm && (warm.u.length !== B * T * nu || (warm.lam && warm.lam.length !== B * T * m))) {
      throw new DmpcInputError(OP, 'warm start', `has ${warm.u.length} controls and ${warm.lam?.length ?? 0} multipliers, expected ${B * T * nu} and ${B * T * m}`);
    }
    const bf = this.bufs, f64 = 8;
    const t0 = performance.now();
    const up = uploadProblem(bf, pr);
    const args: Partial<MpcArgs> = {
      warmU: warm ? bf.put('warmU', warm.u) : 0n, warmLam: warm?.lam ? bf.put('warmLam', warm.lam) : 0n,
      tau: bf.get('tau', B * T * n * f64), nuv: bf.get('nu', B * T * nx * f64), s: bf.get('s', B * T * m * f64),
      lam: bf.get('lam', B * T * m * f64), rowState: bf.get('rowState', B * T * m * f64), info: bf.get('info', B * N_INFO * f64),
      work: bf.get('work', B * workSize(T, nx, nu, m) * f64),
      tol: opts.tol, polishMu: opts.polishMu, polishPenalty: opts.polishPenalty,
      B, T, nx, nu, m, maxIter: opts.maxIter, polish: opts.polish ? 1 : 0, b0: 0, b1: B, refineSteps: 4,
    };
    this.specialise(pr);
    const t1 = performance.now();
    this.backend.launch('mpc_box_solve', packArgs(up.addr, up.strides, args), B);
    const t2 = performance.now();
    const old = reuse && reuse.solver === this && reuse.pr.B === B && reuse.pr.T === T && reuse.pr.nx === nx && reuse.pr.nu === nu && reuse.pr.rows.m === m ? reuse : undefined;
    const tau = old?.tau ?? new Float64Array(B * T * n), nuA = old?.nu ?? new Float64Array(B * T * nx), s = old?.s ?? new Float64Array(B * T * m);
    const lam = old?.lam ?? new Float64Array(B * T * m), rowState = old?.rowState ?? new Float64Array(B * T * m), info = old?.info ?? new Float64Array(B * N_INFO);
    const be = this.backend;
    be.download(tau, args.tau!); be.download(nuA, args.nuv!); be.download(info, args.info!);
    if (m > 0) { be.download(s, args.s!); be.download(lam, args.lam!); be.download(rowState, args.rowState!); }
    this.current = { pr, up };
    const x = old?.x ?? new Float64Array(B * T * nx), u = old?.u ?? new Float64Array(B * T * nu);
    for (let bt = 0; bt < B * T; bt++) {
      for (let i = 0; i < nx; i++) x[bt * nx + i] = tau[bt * n + i];
      for (let j = 0; j < nu; j++) u[bt * nu + j] = tau[bt * n + nx + j];
    }
    const status = old?.status ?? new Array<SolveStatus>(B), iterations = old?.iterations ?? new Int32Array(B);
    const polished = old?.polished ?? new Uint8Array(B), objective = old?.objective ?? new Float64Array(B);
    for (let b = 0; b < B; b++) {
      const io = b * N_INFO;
      status[b] = STATUS[info[io + INFO.STATUS]];
      iterations[b] = info[io + INFO.ITER];
      polished[b] = info[io + INFO.POLISHED];
      objective[b] = info[io + INFO.OBJ];
    }
    this.lastTiming = { uploadMs: t1 - t0, kernelMs: t2 - t1, downloadMs: performance.now() - t2 };
    const sol: KernelSolution = { solver: this, generation: ++this.generation, pr, opts, status, iterations, polished, objective, x, u, tau, nu: nuA, s, lam, rowState, info };
    return old ? Object.assign(old, sol) : sol;
  }

  /**
   * dL/dθ as mpcBackward returns it (same shapes, same gradStatus policy) for dL/dx [B, T, nx] and
   * dL/du [B, T, nu]. Elements whose active-set KKT matrix cannot be factored (the CPU solver re-solves
   * or uses the barrier matrix there) get a zero gradient and gradStatus 'zero' ('throw': an error).
   */
  backward(sol: KernelSolution, dLdx?: Float64Array, dLdu?: Float64Array, opts: KernelBackwardOptions = {}): MpcGrad {
    if (sol.solver !== this) throw new DmpcInputError('mpc backward', 'solution', 'comes from another solver');
    const pr = sol.pr, { B, T, nx, nu, n } = pr, m = pr.rows.m, rows = pr.rows, bf = this.bufs, be = this.backend, f64 = 8;
    const onFailure = opts.onFailure ?? 'zero-grad';
    if (dLdx && dLdx.length !== B * T * nx) throw new DmpcInputError('mpc backward', 'dL/dx', `has ${dLdx.length} entries, expected ${B * T * nx}`);
    if (dLdu && dLdu.length !== B * T * nu) throw new DmpcInputError('mpc backward', 'dL/du', `has ${dLdu.length} entries, expected ${B * T * nu}`);
    if (onFailure === 'throw') {
      const bad = sol.status.findIndex((s) => s !== 'optimal' && s !== 'max_iter');
      if (bad >= 0) throw new DmpcInputError('mpc backward', `batch element ${bad}`, `has status '${sol.status[bad]}'; no gradient exists (pass onFailure: 'zero-grad' for a zero gradient, or make the constraints soft)`);
    }
    const g = new Float64Array(B * T * n);
    for (let bt = 0; bt < B * T; bt++) {
      if (dLdx) for (let i = 0; i < nx; i++) g[bt * n + i] = dLdx[bt * nx + i];
      if (dLdu) for (let j = 0; j < nu; j++) g[bt * n + nx + j] = dLdu[bt * nu + j];
    }
    const info = sol.info.slice();
    let up = this.current?.up;
    if (!(up && this.current!.pr === pr && this.generation === sol.generation)) {
      // a later solve overwrote the device state: upload this solution's problem and refactor (FSTATUS ≠ −1)
      up = uploadProblem(bf, pr);
      for (let b = 0; b < B; b++) info[b * N_INFO + INFO.FSTATUS] = 1;
    }
    const args: Partial<MpcArgs> = {
      tau: bf.put('tau', sol.tau), nuv: bf.put('nu', sol.nu), s: bf.put('s', sol.s), lam: bf.put('lam', sol.lam),
      rowState: bf.put('rowState', sol.rowState), info: bf.put('info', info), work: bf.get('work', B * workSize(T, nx, nu, m) * f64),
      g: bf.put('g', g), gC: bf.get('gC', B * T * n * n * f64), gc: bf.get('gc', B * T * n * f64), gF: bf.get('gF', B * T * nx * n * f64),
      gf: bf.get('gf', B * T * nx * f64), gx0: bf.get('gx0', B * nx * f64), gh: bf.get('gh', B * T * m * f64),
      gG: pr.nc > 0 ? bf.get('gG', B * T * pr.nc * n * f64) : 0n,
      tol: sol.opts.tol, polishMu: sol.opts.polishMu, polishPenalty: sol.opts.polishPenalty,
      B, T, nx, nu, m, maxIter: sol.opts.maxIter, polish: sol.opts.polish ? 1 : 0, b0: 0, b1: B, refineSteps: opts.refineSteps ?? 4,
    };
    this.specialise(pr);
    be.launch('mpc_box_backward', packArgs(up.addr, up.strides, args), B);
    const gC = new Float64Array(B * T * n * n), gc = new Float64Array(B * T * n), gF = new Float64Array(B * T * nx * n);
    const gf = new Float64Array(B * T * nx), gx0 = new Float64Array(B * nx), gh = new Float64Array(B * T * m), out = new Float64Array(B * N_INFO);
    be.download(gC, args.gC!); be.download(gc, args.gc!); be.download(gF, args.gF!); be.download(gf, args.gf!);
    be.download(gx0, args.gx0!); be.download(out, args.info!);
    if (m > 0) be.download(gh, args.gh!);
    const gG = new Float64Array(B * T * pr.nc * n);
    if (pr.nc > 0) be.download(gG, args.gG!);
    // the backward kernel reclassifies unpolished elements' rows: keep the host copy in step
    const rowState = new Float64Array(B * T * m);
    if (m > 0) be.download(rowState, args.rowState!);
    this.current = { pr, up };
    this.generation = sol.generation;

    const grad: MpcGrad = {
      C: new Float64Array(pr.C.data.length), c: new Float64Array(pr.c.data.length),
      F: new Float64Array(pr.F.data.length), f: new Float64Array(pr.f.data.length),
      x0: gx0, h: gh, gradStatus: new Array<GradStatus>(B).fill('zero'),
    };
    const bd = pr.bounds;
    for (const key of ['u_lower', 'u_upper', 'x_lower', 'x_upper', 'D', 'E', 'd'] as const) {
      const s = bd[key];
      if (s) grad[key] = new Float64Array(s.data.length);
    }
    const rowState8 = Uint8Array.from(rowState);
    const licqView = { pr, rowState: rowState8 } as unknown as MpcSolverState;
    for (let b = 0; b < B; b++) {
      const kind = out[b * N_INFO + INFO.GRAD];
      if (kind === 0) continue; // zero: failed status
      if (kind === 3) {
        if (onFailure === 'throw') throw new SingularJacobianError('mpc backward', out[b * N_INFO + INFO.RCOND], b);
        // the gradient blocks of this element are zero already (the kernel wrote nothing else)
        gx0.fill(0, b * nx, (b + 1) * nx);
        gh.fill(0, b * T * m, (b + 1) * T * m);
        continue;
      }
      grad.gradStatus[b] = kind === 1 ? (activeRowsDependent(licqView, b) ? 'degenerate' : 'exact') : 'active_set';
      for (let t = 0; t < T; t++) {
        const bt = b * T + t;
        addInto(grad.C, pr.C, b, t, gC, bt * n * n, n * n);
        addInto(grad.c, pr.c, b, t, gc, bt * n, n);
        if (t < T - 1) {
          addInto(grad.F, pr.F, b, t, gF, bt * nx * n, nx * n);
          addInto(grad.f, pr.f, b, t, gf, bt * nx, nx);
        }
        for (let r = 0; r < m; r++) {
          const k = bt * m + r, dh = gh[k];
          if (dh === 0) continue;
          const src = rows.source[r], j = rows.comp[r];
          if (src === ROW_U_LOWER) grad.u_lower![off(bd.u_lower!, b, t) + j] -= dh;
          else if (src === ROW_U_UPPER) grad.u_upper![off(bd.u_upper!, b, t) + j] += dh;
          else if (src === ROW_X_LOWER) grad.x_lower![off(bd.x_lower!, b, t) + j] -= dh;
          else if (src === ROW_X_UPPER) grad.x_upper![off(bd.x_upper!, b, t) + j] += dh;
          else if (src === ROW_GENERAL) grad.d![off(bd.d!, b, t) + j] += dh;
        }
        // dL/dG of the general rows, split into D (state columns) and E (control columns)
        for (let j = 0; j < pr.nc; j++) {
          const go = (bt * pr.nc + j) * n, Do = off(bd.D!, b, t) + j * nx, Eo = off(bd.E!, b, t) + j * nu;
          for (let i = 0; i < nx; i++) grad.D![Do + i] += gG[go + i];
          for (let i = 0; i < nu; i++) grad.E![Eo + i] += gG[go + nx + i];
        }
      }
    }
    return grad;
  }

  /**
   * Specialised stage kernels for pr's shape and structural zeros, where the backend has them (the
   * pattern is scanned at every solve: the data may change in place; the scratch is kept).
   */
  private specialise(pr: MpcProblem): void {
    if (!this.backend.specialise) return;
    const { nx, nu, n } = pr;
    if (this.pattern?.F.length !== nx * n || this.pattern.C.length !== n * n) this.pattern = { F: new Uint8Array(nx * n), C: new Uint8Array(n * n) };
    this.backend.specialise(nx, nu, structurePattern(pr, this.pattern));
  }
  private pattern: StagePattern | null = null;

  close(): void { this.bufs.freeAll(); this.backend.close(); }
}

function addInto(g: Float64Array, s: Stage, b: number, t: number, src: Float64Array, so: number, len: number): void {
  const o = off(s, b, t);
  for (let i = 0; i < len; i++) g[o + i] += src[so + i];
}
