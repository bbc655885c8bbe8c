/**
 * Stage kernels: the small dense operations every Riccati sweep and residual evaluation repeats T
 * times per pass (n = nx + nu is typically 2–12).
 *
 * For such sizes a loop nest spends most of its time on loop control and index arithmetic, not on
 * the multiply–adds (measured: ~2 ns per multiply–add for FᵀPF with nx = 4, n = 6, against ~0.5 ns
 * straight-line). So each kernel exists twice with one interface:
 *  - `genericKernels(nx, nu)`: plain loops, any size (the reference, and the fallback for large n);
 *  - `unrolledKernels(nx, nu)`: straight-line code specialised to (nx, nu), generated once per size
 *    with `new Function` (the operands are loaded into locals, so the JIT keeps them in registers)
 *    and cached. It is used while the unrolled code stays small (a few thousand multiply–adds).
 * `stageKernels(nx, nu, pattern)` picks one; test/mpc/kernels.test.ts checks that both agree on random data.
 *
 * Structural zeros (StagePattern): the straight-line code can also leave out the entries of F and C
 * that are exactly zero in every stage of the problem (riccati.ts's useStructureKernels scans the data
 * at each solve). That is exact, and it is what brings larger stages under the unrolling limit: the
 * linearised quadrotor of p6 (nx = 12, nu = 4, 52 of F's 192 entries non-zero, C diagonal) runs its
 * FᵀPF in 828 multiply–adds of straight-line code instead of 3936 in loops (15.4 → 6.7 ms per p6
 * solve, CPU time, same iterations).
 *
 * All matrices are row-major with an explicit offset into a shared Float64Array, so kernels read
 * batched [B, T, ...] workspaces in place and allocate nothing.
 */

type F64 = Float64Array;

export interface StageKernels {
  readonly nx: number;
  readonly nu: number;
  /** True for the generated straight-line version. */
  readonly unrolled: boolean;
  /** Q[0..n²) ← sym(C) = ½(C + Cᵀ), C (n×n) at `co`. */
  symInto(C: F64, co: number, Q: F64): void;
  /** Q ← Q + Fᵀ P F: Q (n×n, symmetric, at 0), F (nx×n) at `fo`, P (nx×nx, symmetric) at `po`. */
  addCongruence(Q: F64, F: F64, fo: number, P: F64, po: number): void;
  /**
   * The factor step of one stage from Q (n×n at 0; its lower triangle is read): L = chol(Q_uu + shift·I)
   * (nu×nu, lower triangle written) at `lo`, X = Q_xu (nx×nu) at `xo`, K = −Q_uu⁻¹Q_ux (nu×nx) at `ko`,
   * P = Q_xx + Q_xu K (nx×nx, symmetric) at `po`. The squared pivots go to piv[0..nu). Returns false,
   * writing nothing else, when Q_uu + shift·I is not positive definite (or not finite).
   */
  factorStage(Q: F64, shift: number, L: F64, lo: number, X: F64, xo: number, K: F64, ko: number, P: F64, po: number, piv: F64): boolean;
  /**
   * The vector step of one stage: q̃ = q (n at `qo`) [+ Fᵀ(P' e + p') when `next`, with F at `fo`,
   * e at `eo` (null: e = 0, the Newton directions' homogeneous dynamics, whose P'e is skipped),
   * P' (nx×nx) at `pno`, p' at `pvo`], then k = −Q_uu⁻¹ q̃_u (at `ko`) with the stored factor L at
   * `lo`, and p = q̃_x + X k (at `po`; p' and p share the array `p`).
   */
  backwardStage(
    q: F64, qo: number, next: boolean, F: F64, fo: number, e: F64 | null, eo: number, P: F64, pno: number, pvo: number,
    L: F64, lo: number, X: F64, xo: number, k: F64, ko: number, p: F64, po: number,
  ): void;
  /** u = K x + k: x (nx) at tau[to], u written at tau[to + nx]; K (nu×nx) at `ko`, k at `kko`. */
  feedback(tau: F64, to: number, K: F64, ko: number, k: F64, kko: number): void;
  /** out = P x + p: P (nx×nx) at `po`, p at `pvo`, x at `xo`, out at `oo`. */
  costate(P: F64, po: number, p: F64, pvo: number, x: F64, xo: number, out: F64, oo: number): void;
  /** out = F τ + e: F (nx×n) at `fo`, τ (n) at `to`, e at `eo`, out (nx) at `oo`. */
  dynamics(F: F64, fo: number, tau: F64, to: number, e: F64, eo: number, out: F64, oo: number): void;
  /** out = sym(C) z: C (n×n) at `co`, z (n) at `zo`, out (n) at `oo` (overwritten). */
  symMatVec(C: F64, co: number, z: F64, zo: number, out: F64, oo: number): void;
  /** out += Fᵀ v: F (nx×n) at `fo`, v (nx) at `vo`, out (n) at `oo`. */
  addTransposed(F: F64, fo: number, v: F64, vo: number, out: F64, oo: number): void;
  /** G += ½(u τᵀ + τ uᵀ): G (n×n) at `go`, u and τ (n) at `uo`, `to` (the gradient of sym(C)τ). */
  addSymOuter(G: F64, go: number, u: F64, uo: number, tau: F64, to: number): void;
  /** G += a uᵀ + v τᵀ: G (nx×n) at `go`, a and v (nx), u and τ (n) (the gradient of Fᵀa and Fτ). */
  addOuterPair(G: F64, go: number, a: F64, ao: number, u: F64, uo: number, v: F64, vo: number, tau: F64, to: number): void;
}

/** The reference kernels: plain loops, any size. */
export function genericKernels(nx: number, nu: number): StageKernels {
  const n = nx + nu;
  const G = new Float64Array(nx * n), Lt = new Float64Array(nu * nu), v = new Float64Array(nx), qt = new Float64Array(n);
  return {
    nx, nu, unrolled: false,
    symInto(C, co, Q) {
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Q[i * n + j] = 0.5 * (C[co + i * n + j] + C[co + j * n + i]);
    },
    addCongruence(Q, F, fo, P, po) {
      for (let i = 0; i < nx; i++) for (let j = 0; j < n; j++) {
        let s = 0;
        for (let l = 0; l < nx; l++) s += P[po + i * nx + l] * F[fo + l * n + j];
        G[i * n + j] = s;
      }
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let l = 0; l < nx; l++) s += F[fo + l * n + i] * G[l * n + j];
        Q[i * n + j] += s;
        if (j !== i) Q[j * n + i] += s;
      }
    },
    factorStage(Q, shift, L, lo, X, xo, K, ko, P, po, piv) {
      // Cholesky of Q_uu + shift·I into a scratch first: nothing is written on failure
      for (let j = 0; j < nu; j++) {
        let d = Q[(nx + j) * n + nx + j] + shift;
        for (let k = 0; k < j; k++) d -= Lt[j * nu + k] * Lt[j * nu + k];
        if (!(d > 0) || !Number.isFinite(d)) return false;
        piv[j] = d;
        const ljj = Math.sqrt(d);
        Lt[j * nu + j] = ljj;
        for (let i = j + 1; i < nu; i++) {
          let s = Q[(nx + i) * n + nx + j];
          for (let k = 0; k < j; k++) s -= Lt[i * nu + k] * Lt[j * nu + k];
          Lt[i * nu + j] = s / ljj;
        }
      }
      for (let i = 0; i < nu; i++) for (let j = 0; j <= i; j++) L[lo + i * nu + j] = Lt[i * nu + j];
      for (let i = 0; i < nx; i++) for (let j = 0; j < nu; j++) X[xo + i * nu + j] = Q[(nx + j) * n + i];
      for (let i = 0; i < nx; i++) {
        // column i of K: −L⁻ᵀL⁻¹ Q_ux[:, i], Q_ux[:, i] = row i of X
        for (let j = 0; j < nu; j++) {
          let s = X[xo + i * nu + j];
          for (let k = 0; k < j; k++) s -= Lt[j * nu + k] * K[ko + k * nx + i];
          K[ko + j * nx + i] = s / Lt[j * nu + j];
        }
        for (let j = nu - 1; j >= 0; j--) {
          let s = K[ko + j * nx + i];
          for (let k = j + 1; k < nu; k++) s -= Lt[k * nu + j] * K[ko + k * nx + i];
          K[ko + j * nx + i] = s / Lt[j * nu + j];
        }
        for (let j = 0; j < nu; j++) K[ko + j * nx + i] = -K[ko + j * nx + i];
      }
      for (let i = 0; i < nx; i++) for (let l = 0; l <= i; l++) {
        let s = Q[i * n + l];
        for (let j = 0; j < nu; j++) s += X[xo + i * nu + j] * K[ko + j * nx + l];
        P[po + i * nx + l] = s;
        P[po + l * nx + i] = s;
      }
      return true;
    },
    backwardStage(q, qo, next, F, fo, e, eo, P, pno, pvo, L, lo, X, xo, k, ko, p, po) {
      for (let i = 0; i < n; i++) qt[i] = q[qo + i];
      if (next) {
        for (let i = 0; i < nx; i++) {
          let s = p[pvo + i];
          if (e !== null) for (let l = 0; l < nx; l++) s += P[pno + i * nx + l] * e[eo + l];
          v[i] = s;
        }
        for (let l = 0; l < nx; l++) for (let i = 0; i < n; i++) qt[i] += F[fo + l * n + i] * v[l];
      }
      for (let j = 0; j < nu; j++) {
        let s = -qt[nx + j];
        for (let l = 0; l < j; l++) s -= L[lo + j * nu + l] * k[ko + l];
        k[ko + j] = s / L[lo + j * nu + j];
      }
      for (let j = nu - 1; j >= 0; j--) {
        let s = k[ko + j];
        for (let l = j + 1; l < nu; l++) s -= L[lo + l * nu + j] * k[ko + l];
        k[ko + j] = s / L[lo + j * nu + j];
      }
      for (let i = 0; i < nx; i++) {
        let s = qt[i];
        for (let j = 0; j < nu; j++) s += X[xo + i * nu + j] * k[ko + j];
        p[po + i] = s;
      }
    },
    feedback(tau, to, K, ko, k, kko) {
      for (let j = 0; j < nu; j++) {
        let s = k[kko + j];
        for (let i = 0; i < nx; i++) s += K[ko + j * nx + i] * tau[to + i];
        tau[to + nx + j] = s;
      }
    },
    costate(P, po, p, pvo, x, xo, out, oo) {
      for (let i = 0; i < nx; i++) {
        let s = p[pvo + i];
        for (let l = 0; l < nx; l++) s += P[po + i * nx + l] * x[xo + l];
        out[oo + i] = s;
      }
    },
    dynamics(F, fo, tau, to, e, eo, out, oo) {
      for (let i = 0; i < nx; i++) {
        let s = e[eo + i];
        for (let j = 0; j < n; j++) s += F[fo + i * n + j] * tau[to + j];
        out[oo + i] = s;
      }
    },
    symMatVec(C, co, z, zo, out, oo) {
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += 0.5 * (C[co + i * n + j] + C[co + j * n + i]) * z[zo + j];
        out[oo + i] = s;
      }
    },
    addTransposed(F, fo, v, vo, out, oo) {
      for (let i = 0; i < n; i++) {
        let s = out[oo + i];
        for (let l = 0; l < nx; l++) s += F[fo + l * n + i] * v[vo + l];
        out[oo + i] = s;
      }
    },
    addSymOuter(G, go, u, uo, tau, to) {
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) G[go + i * n + j] += 0.5 * (u[uo + i] * tau[to + j] + tau[to + i] * u[uo + j]);
    },
    addOuterPair(G, go, a, ao, u, uo, v, vo, tau, to) {
      for (let i = 0; i < nx; i++) for (let j = 0; j < n; j++) G[go + i * n + j] += a[ao + i] * u[uo + j] + v[vo + i] * tau[to + j];
    },
  };
}

// ---- code generation -------------------------------------------------------------------------

/** Σ of the given product terms as a JS expression ('0' when empty). */
const sum = (terms: string[]): string => (terms.length ? terms.join(' + ') : '0');
const range = (a: number, b: number): number[] => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);

/**
 * Structural zeros of the stage data: `F` [nx·n] and `C` [n·n] with 1 where some stage of some element
 * may be non-zero (for C: where C or Cᵀ may be, i.e. the pattern of sym(C)), 0 where every stage of
 * every element is exactly 0. A kernel generated for a pattern skips the zero entries, which is exact
 * (a product with an exact 0 contributes nothing), and stays valid for any data with that pattern.
 * Found by scanning the data at each solve (structurePattern in riccati.ts), never assumed.
 */
export interface StagePattern { F: Uint8Array; C: Uint8Array }

/** A comment line in factorStage's body before its last part, P = Q_xx + X K (generated.ts replaces that part for C). */
export const VALUE_UPDATE_MARKER = '/* P = Q_xx + X K */';

/** Source of each kernel body for fixed (nx, nu) (and structural zeros); argument names follow {@link StageKernels}. */
export function kernelSources(nx: number, nu: number, pat?: StagePattern): Record<Exclude<keyof StageKernels, 'nx' | 'nu' | 'unrolled'>, [string[], string]> {
  const n = nx + nu, X = range(0, nx), U = range(0, nu), N = range(0, n);
  const lines = (xs: string[]) => xs.join('\n');
  // F[l, j] and sym(C)[i, j] structurally non-zero?
  const fz = (l: number, j: number) => !pat || pat.F[l * n + j] !== 0;
  const cz = (i: number, j: number) => !pat || pat.C[i * n + j] !== 0;
  // symmetric P loaded once: p_i_l with i ≥ l
  const loadSymP = (arr: string, o: string, name: string) => lines(X.flatMap((i) => X.filter((l) => l <= i).map((l) => `const ${name}${i}_${l} = ${arr}[${o} + ${i * nx + l}];`)));
  const sp = (name: string, i: number, l: number) => (i >= l ? `${name}${i}_${l}` : `${name}${l}_${i}`);
  const loadF = lines(X.flatMap((l) => N.filter((j) => fz(l, j)).map((j) => `const f${l}_${j} = F[fo + ${l * n + j}];`)));
  // columns of F with a non-zero entry: only they reach Q through FᵀPF
  const Fcols = N.filter((j) => X.some((l) => fz(l, j)));

  const symInto = lines(N.flatMap((i) => N.filter((j) => j <= i).map((j) => {
    const v = !cz(i, j) ? '0' : i === j ? `C[co + ${i * n + i}]` : `0.5 * (C[co + ${i * n + j}] + C[co + ${j * n + i}])`;
    return i === j ? `Q[${i * n + i}] = ${v};` : `{ const s = ${v}; Q[${i * n + j}] = s; Q[${j * n + i}] = s; }`;
  })));

  const addCongruence = lines([
    loadSymP('P', 'po', 'p'), loadF,
    // column by column: G[:, j] = P F[:, j] (the entries some Q[i, j], i ≥ j, reads), then those Q[i, j]
    // += F[:, i]ᵀ G[:, j]. Only one column of G is live at a time: generated as one block, all of G
    // live at once made the compiled code spill most of it to the stack (gcc: 2200 stack accesses).
    ...Fcols.flatMap((j) => {
      const rows = Fcols.filter((i) => i >= j);
      const used = X.filter((l) => rows.some((i) => fz(l, i)));
      return [
        ...used.map((l) => `const g${l}_${j} = ${sum(X.filter((k) => fz(k, j)).map((k) => `${sp('p', l, k)} * f${k}_${j}`))};`),
        ...rows.map((i) => {
          const s = sum(X.filter((l) => fz(l, i)).map((l) => `f${l}_${i} * g${l}_${j}`));
          return i === j ? `Q[${i * n + i}] += ${s};` : `{ const s = ${s}; Q[${i * n + j}] += s; Q[${j * n + i}] += s; }`;
        }),
      ];
    }),
  ]);

  const factorStage = lines([
    // Cholesky of Q_uu + shift·I in locals (l_i_j, i ≥ j); nothing is stored before it succeeds
    ...U.flatMap((j) => [
      `const d${j} = Q[${(nx + j) * n + nx + j}] + shift${U.filter((k) => k < j).map((k) => ` - l${j}_${k} * l${j}_${k}`).join('')};`,
      `if (!(d${j} > 0) || d${j} === Infinity) return false;`,
      `const l${j}_${j} = Math.sqrt(d${j}), r${j} = 1 / l${j}_${j};`,
      ...U.filter((i) => i > j).map((i) => `const l${i}_${j} = (Q[${(nx + i) * n + nx + j}]${U.filter((k) => k < j).map((k) => ` - l${i}_${k} * l${j}_${k}`).join('')}) * r${j};`),
    ]),
    ...U.map((j) => `piv[${j}] = d${j};`),
    ...U.flatMap((i) => U.filter((j) => j <= i).map((j) => `L[lo + ${i * nu + j}] = l${i}_${j};`)),
    // X = Q_xu, read from the lower triangle (row nx + j, column i)
    ...X.flatMap((i) => U.map((j) => `const x${i}_${j} = Q[${(nx + j) * n + i}]; X[xo + ${i * nu + j}] = x${i}_${j};`)),
    // K[:, i] = −L⁻ᵀ L⁻¹ X[i, :]ᵀ
    ...X.flatMap((i) => [
      ...U.map((j) => `const y${i}_${j} = (x${i}_${j}${U.filter((k) => k < j).map((k) => ` - l${j}_${k} * y${i}_${k}`).join('')}) * r${j};`),
      ...[...U].reverse().map((j) => `const k${j}_${i} = -(y${i}_${j}${U.filter((k) => k > j).map((k) => ` + l${k}_${j} * k${k}_${i}`).join('')}) * r${j};`),
      ...U.map((j) => `K[ko + ${j * nx + i}] = k${j}_${i};`),
    ]),
    // P = Q_xx + X K (lower triangle, mirrored); the marker lets generated.ts give C its own form of this part
    VALUE_UPDATE_MARKER,
    ...X.flatMap((i) => X.filter((l) => l <= i).map((l) => {
      const s = `Q[${i * n + l}] + ${sum(U.map((j) => `x${i}_${j} * k${j}_${l}`))}`;
      return i === l ? `P[po + ${i * nx + i}] = ${s};` : `{ const s = ${s}; P[po + ${i * nx + l}] = s; P[po + ${l * nx + i}] = s; }`;
    })),
    'return true;',
  ]);

  const backwardStage = lines([
    ...N.map((i) => `let q${i} = q[qo + ${i}];`),
    'if (next) {',
    // v = p' + P'e, summed left to right; e = null (e = 0): v = p'
    ...X.map((i) => `let v${i} = p[pvo + ${i}];`),
    'if (e !== null) {',
    ...X.map((l) => `const e${l} = e[eo + ${l}];`),
    ...X.map((i) => `v${i} = v${i} + ${sum(X.map((l) => `P[pno + ${i * nx + l}] * e${l}`))};`),
    '}',
    ...Fcols.map((i) => `q${i} += ${sum(X.filter((l) => fz(l, i)).map((l) => `F[fo + ${l * n + i}] * v${l}`))};`),
    '}',
    ...U.flatMap((j) => U.filter((l) => l <= j).map((l) => `const l${j}_${l} = L[lo + ${j * nu + l}];`)),
    ...U.map((j) => `const y${j} = (-q${nx + j}${U.filter((l) => l < j).map((l) => ` - l${j}_${l} * y${l}`).join('')}) / l${j}_${j};`),
    ...[...U].reverse().map((j) => `const k${j} = (y${j}${U.filter((l) => l > j).map((l) => ` - l${l}_${j} * k${l}`).join('')}) / l${j}_${j};`),
    ...U.map((j) => `k[ko + ${j}] = k${j};`),
    ...X.map((i) => `p[po + ${i}] = q${i} + ${sum(U.map((j) => `X[xo + ${i * nu + j}] * k${j}`))};`),
  ]);

  const loadX = (arr: string, o: string, len: number, name: string) => lines(range(0, len).map((i) => `const ${name}${i} = ${arr}[${o} + ${i}];`));
  const feedback = lines([loadX('tau', 'to', nx, 'x'), ...U.map((j) => `tau[to + ${nx + j}] = k[kko + ${j}] + ${sum(X.map((i) => `K[ko + ${j * nx + i}] * x${i}`))};`)]);
  const costate = lines([loadX('x', 'xo', nx, 'x'), ...X.map((i) => `out[oo + ${i}] = p[pvo + ${i}] + ${sum(X.map((l) => `P[po + ${i * nx + l}] * x${l}`))};`)]);
  const dynamics = lines([loadX('tau', 'to', n, 't'), ...X.map((i) => `out[oo + ${i}] = e[eo + ${i}] + ${sum(N.filter((j) => fz(i, j)).map((j) => `F[fo + ${i * n + j}] * t${j}`))};`)]);
  const symMatVec = lines([
    loadX('z', 'zo', n, 'z'),
    ...N.flatMap((i) => N.filter((j) => j <= i && cz(i, j)).map((j) => `const c${i}_${j} = ${i === j ? `C[co + ${i * n + i}]` : `0.5 * (C[co + ${i * n + j}] + C[co + ${j * n + i}])`};`)),
    ...N.map((i) => `out[oo + ${i}] = ${sum(N.filter((j) => cz(i, j)).map((j) => `${i >= j ? `c${i}_${j}` : `c${j}_${i}`} * z${j}`))};`),
  ]);
  const addTransposed = lines([loadX('v', 'vo', nx, 'v'), ...Fcols.map((i) => `out[oo + ${i}] += ${sum(X.filter((l) => fz(l, i)).map((l) => `F[fo + ${l * n + i}] * v${l}`))};`)]);
  const addSymOuter = lines([
    loadX('u', 'uo', n, 'u'), loadX('tau', 'to', n, 't'),
    ...N.flatMap((i) => N.map((j) => `G[go + ${i * n + j}] += 0.5 * (u${i} * t${j} + t${i} * u${j});`)),
  ]);
  const addOuterPair = lines([
    loadX('a', 'ao', nx, 'a'), loadX('v', 'vo', nx, 'v'), loadX('u', 'uo', n, 'u'), loadX('tau', 'to', n, 't'),
    ...X.flatMap((i) => N.map((j) => `G[go + ${i * n + j}] += a${i} * u${j} + v${i} * t${j};`)),
  ]);

  return {
    symInto: [['C', 'co', 'Q'], symInto],
    addCongruence: [['Q', 'F', 'fo', 'P', 'po'], addCongruence],
    factorStage: [['Q', 'shift', 'L', 'lo', 'X', 'xo', 'K', 'ko', 'P', 'po', 'piv'], factorStage],
    backwardStage: [['q', 'qo', 'next', 'F', 'fo', 'e', 'eo', 'P', 'pno', 'pvo', 'L', 'lo', 'X', 'xo', 'k', 'ko', 'p', 'po'], backwardStage],
    feedback: [['tau', 'to', 'K', 'ko', 'k', 'kko'], feedback],
    costate: [['P', 'po', 'p', 'pvo', 'x', 'xo', 'out', 'oo'], costate],
    dynamics: [['F', 'fo', 'tau', 'to', 'e', 'eo', 'out', 'oo'], dynamics],
    symMatVec: [['C', 'co', 'z', 'zo', 'out', 'oo'], symMatVec],
    addTransposed: [['F', 'fo', 'v', 'vo', 'out', 'oo'], addTransposed],
    addSymOuter: [['G', 'go', 'u', 'uo', 'tau', 'to'], addSymOuter],
    addOuterPair: [['G', 'go', 'a', 'ao', 'u', 'uo', 'v', 'vo', 'tau', 'to'], addOuterPair],
  };
}

/** Straight-line kernels for fixed (nx, nu) (and structural zeros `pat`), generated from {@link kernelSources}. */
export function unrolledKernels(nx: number, nu: number, pat?: StagePattern): StageKernels {
  const src = kernelSources(nx, nu, pat);
  const make = <K extends keyof typeof src>(k: K): StageKernels[K] => {
    const [args, body] = src[k];
    // a named function expression, so that profiles show which kernel the time goes to
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated numeric code, no user input
    return new Function(`'use strict';\nreturn function ${k}_${nx}_${nu}(${args.join(', ')}) {\n${body}\n};`)() as StageKernels[K];
  };
  return {
    nx, nu, unrolled: true,
    symInto: make('symInto'), addCongruence: make('addCongruence'), factorStage: make('factorStage'),
    backwardStage: make('backwardStage'), feedback: make('feedback'), costate: make('costate'),
    dynamics: make('dynamics'), symMatVec: make('symMatVec'), addTransposed: make('addTransposed'),
    addSymOuter: make('addSymOuter'), addOuterPair: make('addOuterPair'),
  };
}

/**
 * Multiply–adds of the largest unrolled kernel (FᵀPF). Past a size the straight-line function is too
 * large for V8 to optimise and runs in its baseline tier: measured (Node 20) for FᵀPF + factor step,
 * unrolled against loops, 5–6× faster up to (nx, nu) = (9, 6) (size 2295) but 6–8× slower at
 * (12, 1) (2964) and (12, 4) (3936). UNROLL_LIMIT keeps a margin below that cliff. With structural
 * zeros in F the kernel is smaller: the linearised quadrotor of p6 ((12, 4), 52 of 192 entries of F
 * non-zero) needs 828 and is unrolled.
 */
export function unrolledSize(nx: number, nu: number, pat?: StagePattern): number {
  const n = nx + nu;
  if (!pat) return nx * nx * n + (n * (n + 1) / 2) * nx;
  let nnz = 0, s = 0;
  const colNnz = new Array<number>(n).fill(0);
  for (let l = 0; l < nx; l++) for (let j = 0; j < n; j++) if (pat.F[l * n + j]) { nnz++; colNnz[j]++; }
  // G = PF: nx per non-zero of F; FᵀG: for each pair i ≥ j of used columns, nnz(F[:, i])
  let rank = 0;
  for (let i = 0; i < n; i++) if (colNnz[i] > 0) { rank++; s += colNnz[i] * rank; }
  return nx * nnz + s;
}
export const UNROLL_LIMIT = 2000;

const cache = new Map<string, StageKernels>();

/** A pattern with no structural zero is the dense case (no pattern). */
const isDense = (pat: StagePattern): boolean => pat.F.every((v) => v !== 0) && pat.C.every((v) => v !== 0);

/**
 * The kernels for (nx, nu) and the structural zeros `pat` (none: dense): unrolled when small enough
 * (and code generation is allowed), else the loops; cached per size and pattern.
 */
export function stageKernels(nx: number, nu: number, pat?: StagePattern): StageKernels {
  if (pat && isDense(pat)) pat = undefined;
  const key = pat ? `${nx},${nu},${pat.F.join('')},${pat.C.join('')}` : `${nx},${nu}`;
  let k = cache.get(key);
  if (!k) {
    k = genericKernels(nx, nu);
    if (unrolledSize(nx, nu, pat) <= UNROLL_LIMIT) {
      // an environment that forbids code generation (a browser CSP) keeps the loops
      try { k = unrolledKernels(nx, nu, pat); } catch { /* generic kernels */ }
    }
    cache.set(key, k);
  }
  return k;
}
