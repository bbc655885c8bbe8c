/*
 * Batched float64 MPC interior point for box-constrained linear MPC (the p1 class), one problem per
 * thread. A line-by-line port of src/mpc (ipm.ts, riccati.ts, polish.ts, kkt.ts, backward.ts) for
 * hard box rows sign·τ[idx] ≤ h (u bounds, x bounds at t ≥ 1): the same Mehrotra predictor–corrector
 * on the condensed Riccati LQ step, the same polishing triggers and active-set revisions, the same
 * adjoint (Riccati with the polishing factorization plus refinement), so statuses and iteration
 * counts match the float64 CPU solver and plans agree to round-off. General rows [D E]τ ≤ d and soft
 * rows are not ported (the host refuses them).
 *
 * Kept in step with the CPU solver's schedule (docs/mpc.md): after the first speculative polishing
 * attempt, a new one only when the active-set guess equals the previous check's; a speculative attempt
 * with more than 4 rows in the wrong class is dropped; the converged attempt may revise 8 times. The
 * step length comes out of the pass that forms (dλ, ds), and μ of the affine step from sums of that
 * pass, as in ipm.ts, so the iterates round identically. The hot row passes (residuals, the two
 * directions, the update, stationarity) visit a compact list of the switched-on rows, as ipm.ts does;
 * the others test act. Not ported: ipm.ts's update fused with the next residuals (same arithmetic, one
 * pass fewer; here residuals() runs after the update).
 *
 * Compiles as CUDA (NVRTC) and as C (gcc) through portable.h; see src/gpu/README in docs/gpu.md.
 * Memory: every array is element-major ([B, ...]); the scratch of one element is one contiguous block
 * of mpc_work_size() doubles.
 */
#include "portable.h"
/* DMPC_GENERATED_KERNELS: the host may put size-specialised stage kernels here (src/gpu/generated.ts) */

/* Argument block: u64 addresses first, then doubles, then ints, so that the host packs it without
 * padding rules (src/gpu/args.ts writes the same order). */
typedef struct {
  dmpc_u64 C, c, F, f, x0, h, act, rowIdx, rowSign, warmU, warmLam;
  dmpc_u64 tau, nuv, s, lam, rowState, info, work;
  dmpc_u64 g, gC, gc, gF, gf, gx0, gh;
  /* general rows [D E]τ ≤ d: coefficients G [.., mg, n] (strides Gsb, Gst), per row its kind (0 box,
   * 1 general; idx is then the row of G), and the columns of each general row that are non-zero
   * somewhere (CSR gPtr [mg + 1], gCol); the backward pass writes dL/dG into gG [B, T, mg, n] */
  dmpc_u64 G, rowKind, gPtr, gCol, gG;
  double tol, polishMu, polishPenalty;
  int B, T, nx, nu, m, maxIter, polish, b0, b1, refineSteps;
  /* strides (in doubles) of C, c, F, f over batch and time: shared data is read in place (stride 0),
   * never copied per element on the host (src/mpc/problem.ts Stage) */
  int Csb, Cst, csb, cst, Fsb, Fst, fsb, fst;
  int Gsb, Gst, mg, pad; /* pad: the block stays a multiple of 8 bytes (args.ts packs no padding) */
} MpcArgs;

/* info slots per element */
#define I_STATUS 0
#define I_ITER 1
#define I_POLISHED 2
#define I_TRIES 3
#define I_SCALEC 4
#define I_SCALEH 5
#define I_POLISHW 6
#define I_OBJ 7
#define I_PRES 8
#define I_DRES 9
#define I_GAP 10
#define I_RCOND 11
#define I_FSTATUS 12
#define I_LASTSIG 13
#define I_PREVSIG 14
#define I_DONE 15
#define I_GRAD 16
#define N_INFO 17

/* statuses (src/common/status.ts order used by the host) */
#define ST_OPTIMAL 0
#define ST_MAX_ITER 1
#define ST_PRIMAL_INFEASIBLE 2
#define ST_NUMERICAL_ERROR 3

#define ROW_INACTIVE 0
#define ROW_EQUALITY 1

/* gradient kinds written by the backward kernel */
#define G_ZERO 0
#define G_EXACT 1
#define G_ACTIVE_SET 2
#define G_UNSUPPORTED 3 /* needs the CPU's re-solve or barrier route: the host handles it */

typedef struct {
  int T, nx, nu, n, m, N;
  double *P, *K, *L, *X, *p, *k, *Q, *G, *piv, *Lt, *qt, *v;
  double *W, *q, *dtau, *dnu, *dtauA, *dnuA, *rp, *rc1, *rd, *ze, *dl, *ds, *dlA, *dsA;
  double *w0, *w1, *w2, *rhsT, *zT, *r, *z, *e, *x0, *zx;
  /* the element's switched-on rows as a compact list (ipm.ts rowList): per entry the row index
   * i = t·m + r, the row r, the plan offset of its entry (box rows: t·n + idx) or of its stage (general
   * rows: t·n), and the offset of a general row's coefficients from the element's G (−1: box row) */
  int *Li, *Lr, *Lcol, *Lgo;
  int Lcount;
} Ws;

DMPC_FN long work_size(int T, int nx, int nu, int m) {
  long n = nx + nu, N = (long)T * (n + nx + m);
  return (long)T * (nx * nx + nu * nx + nu * nu + nx * nu + nx + nu) + n * n + nx * n + nu + nu * nu + n + nx
    + (long)T * m + 5L * T * n + 4L * T * nx + 7L * T * m + 7L * N + T * nx + 2L * nx
    + 2L * T * m; /* the row list: 4 ints per row */
}

DMPC_FN Ws layout(double *base, int T, int nx, int nu, int m) {
  Ws w;
  int n = nx + nu;
  double *o = base;
  w.T = T; w.nx = nx; w.nu = nu; w.n = n; w.m = m; w.N = T * (n + nx + m);
#define TAKE(name, len) w.name = o; o += (len)
  TAKE(P, T * nx * nx); TAKE(K, T * nu * nx); TAKE(L, T * nu * nu); TAKE(X, T * nx * nu);
  TAKE(p, T * nx); TAKE(k, T * nu); TAKE(Q, n * n); TAKE(G, nx * n); TAKE(piv, nu); TAKE(Lt, nu * nu); TAKE(qt, n); TAKE(v, nx);
  TAKE(W, T * m); TAKE(q, T * n); TAKE(dtau, T * n); TAKE(dnu, T * nx); TAKE(dtauA, T * n); TAKE(dnuA, T * nx);
  TAKE(rp, T * m); TAKE(rc1, T * m); TAKE(rd, T * n); TAKE(ze, T * nx); TAKE(dl, T * m); TAKE(ds, T * m);
  TAKE(dlA, T * m); TAKE(dsA, T * m);
  TAKE(w0, w.N); TAKE(w1, w.N); TAKE(w2, w.N); TAKE(rhsT, w.N); TAKE(zT, w.N); TAKE(r, w.N); TAKE(z, w.N);
  TAKE(e, T * nx); TAKE(x0, nx); TAKE(zx, nx);
  { int *ip = (int *)o; w.Li = ip; w.Lr = ip + T * m; w.Lcol = ip + 2 * T * m; w.Lgo = ip + 3 * T * m; o += 2 * T * m; }
  w.Lcount = 0;
  /* rc2, dsg, dsgA, sig of soft rows are not needed; the slots keep work_size a simple sum */
#undef TAKE
  return w;
}

/* One element's view of the problem and its state. */
typedef struct {
  const double *C, *c, *F, *f, *x0, *h, *sign;
  const unsigned char *act; /* 1 where a row is switched on (bytes, as the host holds them) */
  int Cst, cst, Fst, fst; /* time strides of C, c, F, f */
  const int *idx, *gPtr, *gCol;
  const signed char *kind; /* 0 box row, 1 general row (bytes, as the host holds them) */
  const double *G; /* this element's general-row coefficients (stage t at G + t * Gst) */
  int Gst;
  double *tau, *nu, *s, *lam, *rs, *info;
  Ws w;
  int maxIter, polish;
  double tol, polishMu, polishPenalty;
} El;

DMPC_FN El element(const MpcArgs *a, int b) {
  El E;
  int T = a->T, nx = a->nx, nu = a->nu, n = nx + nu, m = a->m;
  E.C = (const double *)a->C + (long)b * a->Csb; E.Cst = a->Cst;
  E.c = (const double *)a->c + (long)b * a->csb; E.cst = a->cst;
  E.F = (const double *)a->F + (long)b * a->Fsb; E.Fst = a->Fst;
  E.f = (const double *)a->f + (long)b * a->fsb; E.fst = a->fst;
  E.x0 = (const double *)a->x0 + (long)b * nx;
  E.h = (const double *)a->h + (long)b * T * m;
  E.act = (const unsigned char *)a->act + (long)b * T * m;
  E.idx = (const int *)a->rowIdx;
  E.sign = (const double *)a->rowSign;
  E.kind = (const signed char *)a->rowKind;
  E.gPtr = (const int *)a->gPtr; E.gCol = (const int *)a->gCol;
  E.G = a->G ? (const double *)a->G + (long)b * a->Gsb : 0; E.Gst = a->Gst;
  E.tau = (double *)a->tau + (long)b * T * n;
  E.nu = (double *)a->nuv + (long)b * T * nx;
  E.s = (double *)a->s + (long)b * T * m;
  E.lam = (double *)a->lam + (long)b * T * m;
  E.rs = (double *)a->rowState + (long)b * T * m;
  E.info = (double *)a->info + (long)b * N_INFO;
  E.w = layout((double *)a->work + (long)b * work_size(T, nx, nu, m), T, nx, nu, m);
  E.maxIter = a->maxIter; E.polish = a->polish;
  E.tol = a->tol; E.polishMu = a->polishMu; E.polishPenalty = a->polishPenalty;
  return E;
}

/* ---- stage kernels (kernels.ts) ---- */

DMPC_FN void sym_mat_vec(const double *C, const double *z, double *out, int n) {
#ifdef DMPC_GEN
  (void)n; gen_symMatVec(C, 0, z, 0, out, 0);
#else
  for (int i = 0; i < n; i++) {
    double s = 0;
    for (int j = 0; j < n; j++) s += 0.5 * (C[i * n + j] + C[j * n + i]) * z[j];
    out[i] = s;
  }
#endif
}

DMPC_FN void dynamics(const double *F, const double *tau, const double *e, double *out, int nx, int n) {
#ifdef DMPC_GEN
  (void)nx; (void)n; gen_dynamics(F, 0, tau, 0, e, 0, out, 0);
#else
  for (int i = 0; i < nx; i++) {
    double s = e[i];
    for (int j = 0; j < n; j++) s += F[i * n + j] * tau[j];
    out[i] = s;
  }
#endif
}

DMPC_FN void add_transposed(const double *F, const double *v, double *out, int nx, int n) {
#ifdef DMPC_GEN
  (void)nx; (void)n; gen_addTransposed(F, 0, v, 0, out, 0);
#else
  for (int i = 0; i < n; i++) {
    double s = 0;
    for (int l = 0; l < nx; l++) s += F[l * n + i] * v[l];
    out[i] += s;
  }
#endif
}

DMPC_FN void costate(const double *P, const double *p, const double *x, double *out, int nx) {
#ifdef DMPC_GEN
  (void)nx; gen_costate(P, 0, p, 0, x, 0, out, 0);
#else
  for (int i = 0; i < nx; i++) {
    double s = p[i];
    for (int l = 0; l < nx; l++) s += P[i * nx + l] * x[l];
    out[i] = s;
  }
#endif
}

/* Q = H + Fᵀ P' F, Cholesky of Q_uu, K = −Q_uu⁻¹ Q_ux, P = Q_xx + Q_xu K. 0 if Q_uu is not PD. */
DMPC_FN int factor_stage(Ws *w, int t, int last) {
  int nx = w->nx, nu = w->nu, n = w->n;
  double *Q = w->Q, *Lt = w->Lt, *piv = w->piv;
  double *L = w->L + t * nu * nu, *X = w->X + t * nx * nu, *K = w->K + t * nu * nx, *P = w->P + t * nx * nx;
  (void)last;
#ifdef DMPC_GEN
  (void)Lt; (void)n;
  return gen_factorStage(Q, 0.0, L, 0, X, 0, K, 0, P, 0, piv);
#else
  for (int j = 0; j < nu; j++) {
    double d = Q[(nx + j) * n + nx + j];
    for (int k = 0; k < j; k++) d -= Lt[j * nu + k] * Lt[j * nu + k];
    if (!(d > 0) || !DMPC_ISFINITE(d)) return 0;
    piv[j] = d;
    double ljj = DMPC_SQRT(d);
    Lt[j * nu + j] = ljj;
    for (int i = j + 1; i < nu; i++) {
      double s = Q[(nx + i) * n + nx + j];
      for (int k = 0; k < j; k++) s -= Lt[i * nu + k] * Lt[j * nu + k];
      Lt[i * nu + j] = s / ljj;
    }
  }
  for (int i = 0; i < nu; i++) for (int j = 0; j <= i; j++) L[i * nu + j] = Lt[i * nu + j];
  for (int i = 0; i < nx; i++) for (int j = 0; j < nu; j++) X[i * nu + j] = Q[(nx + j) * n + i];
  for (int i = 0; i < nx; i++) {
    for (int j = 0; j < nu; j++) {
      double s = X[i * nu + j];
      for (int k = 0; k < j; k++) s -= Lt[j * nu + k] * K[k * nx + i];
      K[j * nx + i] = s / Lt[j * nu + j];
    }
    for (int j = nu - 1; j >= 0; j--) {
      double s = K[j * nx + i];
      for (int k = j + 1; k < nu; k++) s -= Lt[k * nu + j] * K[k * nx + i];
      K[j * nx + i] = s / Lt[j * nu + j];
    }
    for (int j = 0; j < nu; j++) K[j * nx + i] = -K[j * nx + i];
  }
  for (int i = 0; i < nx; i++) for (int l = 0; l <= i; l++) {
    double s = Q[i * n + l];
    for (int j = 0; j < nu; j++) s += X[i * nu + j] * K[j * nx + l];
    P[i * nx + l] = s;
    P[l * nx + i] = s;
  }
  return 1;
#endif
}

/* ---- riccati.ts ---- */

/* Factor phase with row weights W (box rows: W on the diagonal). Returns -1 (FACTOR_OK) or the
 * failing stage; writes rcond into info. */
DMPC_FN int riccati_factor(El *E, const double *W, double penaltyFloor) {
  Ws *w = &E->w;
  int T = w->T, nx = w->nx, n = w->n, m = w->m, nu = w->nu;
  double dmin = DMPC_INF, dmax = 0;
  for (int t = T - 1; t >= 0; t--) {
    const double *C = E->C + t * E->Cst;
    double *Q = w->Q;
#ifdef DMPC_GEN
    gen_symInto(C, 0, Q);
#else
    for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) {
      double v = i == j ? C[i * n + i] : 0.5 * (C[i * n + j] + C[j * n + i]);
      Q[i * n + j] = v; Q[j * n + i] = v;
    }
#endif
    if (W) for (int r = 0; r < m; r++) {
      double wr = W[t * m + r];
      if (wr == 0) continue;
      if (E->kind[r] == 0) { int i = E->idx[r]; Q[i * n + i] += wr; continue; }
      /* W g gᵀ over the row's structurally non-zero columns only (riccati.ts) */
      const double *g = E->G + t * E->Gst + E->idx[r] * n;
      int k0 = E->gPtr[E->idx[r]], k1 = E->gPtr[E->idx[r] + 1];
      for (int a = k0; a < k1; a++) {
        int i = E->gCol[a];
        double wi = wr * g[i];
        for (int c = k0; c < k1; c++) { int j = E->gCol[c]; Q[i * n + j] += wi * g[j]; }
      }
    }
    if (t < T - 1) {
      /* Q += Fᵀ G with G = P' F (nx × n) formed once: O(nx²n + n²nx), the order of kernels.ts */
      const double *F = E->F + t * E->Fst, *Pn = w->P + (t + 1) * nx * nx;
#ifdef DMPC_GEN
      gen_addCongruence(Q, F, 0, Pn, 0);
#else
      double *G = w->G;
      for (int l = 0; l < nx; l++) for (int j = 0; j < n; j++) {
        double g = 0;
        for (int k = 0; k < nx; k++) g += Pn[l * nx + k] * F[k * n + j];
        G[l * n + j] = g;
      }
      for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) {
        double s = 0;
        for (int l = 0; l < nx; l++) s += F[l * n + i] * G[l * n + j];
        Q[i * n + j] += s;
        if (j != i) Q[j * n + i] += s;
      }
#endif
    }
    if (!factor_stage(w, t, t == T - 1)) {
      E->info[I_FSTATUS] = t; E->info[I_RCOND] = 0; return t;
    }
    for (int i = 0; i < nu; i++) {
      double d = w->piv[i];
      if (d < dmin) dmin = d;
      if (d > dmax && d < penaltyFloor) dmax = d;
    }
  }
  E->info[I_FSTATUS] = -1;
  E->info[I_RCOND] = dmax > 0 ? (dmin / dmax < 1 ? dmin / dmax : 1) : dmin > 0 ? 1 : 0;
  return -1;
}

/* Vector phase: q [T, n], e [T, nx] (null: the problem's f; zeroE: e is zero, the Newton directions',
 * and its P'e terms are skipped as riccati.ts does), x̄₀ → τ [T, n], ν [T, nx]. */
DMPC_FN void riccati_solve(El *E, const double *q, const double *e, int zeroE, const double *x0, double *tau, double *nuv) {
  Ws *w = &E->w;
  int T = w->T, nx = w->nx, nu = w->nu, n = w->n;
  const double *ed = e ? e : E->f;
  int est = e ? nx : E->fst; /* a given e is [T, nx]; the problem's f has its own stride */
  double *qt = w->qt, *v = w->v;
  for (int t = T - 1; t >= 0; t--) {
    const double *F = E->F + t * E->Fst, *L = w->L + t * nu * nu, *X = w->X + t * nx * nu;
#ifdef DMPC_GEN
    (void)qt; (void)v;
    gen_backwardStage(q, t * n, t < T - 1, F, 0, zeroE ? 0 : ed, t * est, w->P, (t + 1) * nx * nx, (t + 1) * nx, L, 0, X, 0, w->k, t * nu, w->p, t * nx);
#else
    double *k = w->k + t * nu, *p = w->p + t * nx;
    for (int i = 0; i < n; i++) qt[i] = q[t * n + i];
    if (t < T - 1) {
      const double *Pn = w->P + (t + 1) * nx * nx, *pn = w->p + (t + 1) * nx, *et = ed + t * est;
      for (int i = 0; i < nx; i++) {
        double s = pn[i];
        if (!zeroE) for (int l = 0; l < nx; l++) s += Pn[i * nx + l] * et[l];
        v[i] = s;
      }
      for (int l = 0; l < nx; l++) for (int i = 0; i < n; i++) qt[i] += F[l * n + i] * v[l];
    }
    for (int j = 0; j < nu; j++) {
      double s = -qt[nx + j];
      for (int l = 0; l < j; l++) s -= L[j * nu + l] * k[l];
      k[j] = s / L[j * nu + j];
    }
    for (int j = nu - 1; j >= 0; j--) {
      double s = k[j];
      for (int l = j + 1; l < nu; l++) s -= L[l * nu + j] * k[l];
      k[j] = s / L[j * nu + j];
    }
    for (int i = 0; i < nx; i++) {
      double s = qt[i];
      for (int j = 0; j < nu; j++) s += X[i * nu + j] * k[j];
      p[i] = s;
    }
#endif
  }
  for (int i = 0; i < nx; i++) tau[i] = x0[i];
  costate(w->P, w->p, tau, nuv, nx);
  for (int t = 0; t < T; t++) {
    double *tt = tau + t * n;
    const double *K = w->K + t * nu * nx, *k = w->k + t * nu;
#ifdef DMPC_GEN
    gen_feedback(tt, 0, K, 0, k, 0);
#else
    for (int j = 0; j < nu; j++) {
      double s = k[j];
      for (int i = 0; i < nx; i++) s += K[j * nx + i] * tt[i];
      tt[nx + j] = s;
    }
#endif
    if (t < T - 1) {
      dynamics(E->F + t * E->Fst, tt, ed + t * est, tt + n, nx, n);
      costate(w->P + (t + 1) * nx * nx, w->p + (t + 1) * nx, tt + n, nuv + (t + 1) * nx, nx);
    }
  }
}

/* ---- ipm.ts ---- */

/* General row r with coefficients g: gᵀx and x += coeff·g over its structurally non-zero columns (gPtr, gCol). */
DMPC_FN double general_dot(const El *E, int r, const double *g, const double *x) {
  double v = 0;
  for (int k = E->gPtr[E->idx[r]], e = E->gPtr[E->idx[r] + 1]; k < e; k++) { int j = E->gCol[k]; v += g[j] * x[j]; }
  return v;
}
DMPC_FN void general_axpy(const El *E, int r, const double *g, double coeff, double *x) {
  for (int k = E->gPtr[E->idx[r]], e = E->gPtr[E->idx[r] + 1]; k < e; k++) { int j = E->gCol[k]; x[j] += coeff * g[j]; }
}

/* ∇gᵣᵀ x for the plan x (n entries) of stage t: a box row reads one entry, a general row its non-zero columns */
DMPC_FN double row_value(const El *E, int t, int r, const double *x) {
  if (E->kind[r] == 0) return E->sign[r] * x[E->idx[r]];
  return general_dot(E, r, E->G + t * E->Gst + E->idx[r] * E->w.n, x);
}

/* ∇gᵣᵀ x for entry a of the row list, x a whole plan [T, n] */
DMPC_FN double list_value(const El *E, int a, const double *x) {
  const Ws *w = &E->w;
  int r = w->Lr[a], go = w->Lgo[a], col = w->Lcol[a];
  if (go < 0) return E->sign[r] * x[col];
  return general_dot(E, r, E->G + go, x + col);
}

/* x += coeff ∇gᵣ for entry a of the row list, x a whole plan [T, n] */
DMPC_FN void list_axpy(const El *E, int a, double coeff, double *x) {
  const Ws *w = &E->w;
  int r = w->Lr[a], go = w->Lgo[a], col = w->Lcol[a];
  if (go < 0) { x[col] += coeff * E->sign[r]; return; }
  general_axpy(E, r, E->G + go, coeff, x + col);
}

/* x += coeff ∇gᵣ for the plan x (n entries) of stage t */
DMPC_FN void row_axpy(const El *E, int t, int r, double coeff, double *x) {
  if (E->kind[r] == 0) { x[E->idx[r]] += coeff * E->sign[r]; return; }
  general_axpy(E, r, E->G + t * E->Gst + E->idx[r] * E->w.n, coeff, x);
}

DMPC_FN void finish(El *E, int status) { E->info[I_STATUS] = status; E->info[I_DONE] = 1; }

/* ‖sym(C)τ + c + Σλ∇g + Fᵀν − [ν_prev; 0]‖∞ over all but the x₀ block (into work [T, n]). */
DMPC_FN double stationarity(const El *E, const double *tau, const double *nuv, const double *lam, double *work) {
  const Ws *w = &E->w;
  int T = w->T, nx = w->nx, n = w->n, m = w->m;
  double res = 0;
  int a = 0, end = w->Lcount;
  for (int t = 0; t < T; t++) {
    double *wo = work + t * n;
    sym_mat_vec(E->C + t * E->Cst, tau + t * n, wo, n);
    for (int i = 0; i < n; i++) wo[i] += E->c[t * E->cst + i];
    /* the switched-on rows of stage t: the next entries of the row list */
    for (int tEnd = (t + 1) * m; a < end && w->Li[a] < tEnd; a++) {
      double l = lam[w->Li[a]];
      if (l != 0) list_axpy(E, a, l, work);
    }
    if (t < T - 1) add_transposed(E->F + t * E->Fst, nuv + (t + 1) * nx, wo, nx, n);
    if (t > 0) for (int i = 0; i < nx; i++) wo[i] -= nuv[t * nx + i];
    for (int i = t == 0 ? nx : 0; i < n; i++) { double ab = DMPC_FABS(wo[i]); if (ab > res) res = ab; }
  }
  return res;
}

DMPC_FN double residuals(El *E) {
  Ws *w = &E->w;
  int T = w->T, n = w->n, m = w->m;
  double mu = 0, rpMax = 0;
  int cnt = 0;
  (void)T; (void)n; (void)m;
  for (int a = 0; a < w->Lcount; a++) {
    int i = w->Li[a];
    double rp = list_value(E, a, E->tau) + E->s[i] - E->h[i];
    w->rp[i] = rp;
    mu += E->s[i] * E->lam[i]; cnt++;
    double ab = DMPC_FABS(rp);
    if (ab > rpMax) rpMax = ab;
  }
  E->info[I_PRES] = rpMax;
  E->info[I_DRES] = stationarity(E, E->tau, E->nu, E->lam, w->rd);
  mu = cnt ? mu / cnt : 0;
  E->info[I_GAP] = mu;
  return mu;
}

/* One Newton direction with the factorization in w and weights w->W. Returns the largest step
 * α ∈ (0, 1] that keeps s, λ non-negative, computed in the pass that forms (dλ, ds) as ipm.ts does.
 * The affine pass also sums the coefficients of the complementarity along the step (acc: μ(α)·cnt =
 * acc[0] + α acc[1] + α² acc[2], acc[3] = cnt), so μ of the affine step rounds exactly as on the CPU. */
DMPC_FN double direction(El *E, int affine, double sigmaMu, double *dtau, double *dnu, double *dl, double *ds, double *acc) {
  Ws *w = &E->w;
  int T = w->T, n = w->n, m = w->m;
  double *q = w->q;
  for (int i = 0; i < T * n; i++) q[i] = w->rd[i];
  (void)m;
  for (int a = 0; a < w->Lcount; a++) {
    int i = w->Li[a];
    double s = E->s[i], l = E->lam[i];
    double rc1 = -s * l;
    if (!affine) rc1 += sigmaMu - w->dsA[i] * w->dlA[i];
    w->rc1[i] = rc1;
    double rt = w->rp[i] + rc1 / l;
    list_axpy(E, a, w->W[i] * rt, q);
    dl[i] = rt;
  }
  riccati_solve(E, q, w->ze, 1, w->ze, dtau, dnu); /* ze: zeros (init_element) */
  double alpha = 1, c0 = 0, c1 = 0, c2 = 0, cnt = 0;
  for (int a = 0; a < w->Lcount; a++) {
    int i = w->Li[a];
    double gd = list_value(E, a, dtau);
    double s = E->s[i], l = E->lam[i];
    double d = w->W[i] * (gd + dl[i]), dsi = (w->rc1[i] - s * d) / l;
    dl[i] = d;
    ds[i] = dsi;
    /* the step length to the boundary, in the same pass */
    if (dsi < 0) { double v = -s / dsi; if (v < alpha) alpha = v; }
    if (d < 0) { double v = -l / d; if (v < alpha) alpha = v; }
    if (affine) { c0 += s * l; c1 += s * d + l * dsi; c2 += dsi * d; cnt++; }
  }
  if (affine) { acc[0] = c0; acc[1] = c1; acc[2] = c2; acc[3] = cnt; }
  return alpha;
}

DMPC_FN int active_signature(const El *E) {
  int Tm = E->w.T * E->w.m;
  unsigned int h = 0;
  for (int i = 0; i < Tm; i++) if (E->act[i] != 0 && E->lam[i] > E->s[i]) h = h * 31u + (unsigned int)(i + 1);
  return (int)h;
}

DMPC_FN void classify_rows(El *E) {
  int Tm = E->w.T * E->w.m;
  for (int i = 0; i < Tm; i++) E->rs[i] = (E->act[i] != 0 && E->lam[i] > E->s[i]) ? ROW_EQUALITY : ROW_INACTIVE;
}

DMPC_FN int infeasibility_certificate(El *E) {
  Ws *w = &E->w;
  int T = w->T, nx = w->nx, n = w->n, m = w->m;
  double lmax = 0;
  for (int i = 0; i < T * m; i++) if (E->lam[i] > lmax) lmax = E->lam[i];
  if (!(lmax > 1e6 * E->info[I_SCALEC])) return 0;
  double *work = w->dtauA; /* scratch [T, n] (not live between iterations) */
  double res = 0, val = 0;
  for (int t = 0; t < T; t++) {
    double *wo = work + t * n;
    for (int i = 0; i < n; i++) wo[i] = 0;
    for (int r = 0; r < m; r++) {
      int k = t * m + r;
      if (E->act[k] == 0) continue;
      row_axpy(E, t, r, E->lam[k] / lmax, wo);
      val += E->h[k] * E->lam[k] / lmax;
    }
    if (t < T - 1) {
      const double *F = E->F + t * E->Fst, *f = E->f + t * E->fst;
      for (int l = 0; l < nx; l++) {
        double v = E->nu[(t + 1) * nx + l] / lmax;
        val -= f[l] * v;
        for (int i = 0; i < n; i++) wo[i] += F[l * n + i] * v;
      }
    }
    for (int i = 0; i < nx; i++) wo[i] -= E->nu[t * nx + i] / lmax;
    if (t == 0) for (int i = 0; i < nx; i++) val -= E->x0[i] * E->nu[i] / lmax;
    for (int i = 0; i < n; i++) { double a = DMPC_FABS(wo[i]); if (a > res) res = a; }
  }
  return res < 1e-6 && val < -1e-6;
}

/* ---- kkt.ts (hard box rows: classes inactive / equality) ---- */

/* z ← K_W⁻¹ r on the symmetric part. */
DMPC_FN void penalty_solve(El *E, const double *r, double *z) {
  Ws *w = &E->w;
  int T = w->T, nx = w->nx, n = w->n, m = w->m, lo = T * (n + nx), no = T * n;
  double *q = w->q, *e = w->e;
  for (int i = 0; i < T * n; i++) q[i] = -r[i];
  for (int t = 0; t < T; t++) for (int rr = 0; rr < m; rr++) {
    int k = t * m + rr;
    if (E->act[k] == 0 || E->rs[k] != ROW_EQUALITY) continue;
    row_axpy(E, t, rr, -w->W[k] * r[lo + k], q + t * n);
  }
  for (int i = 0; i < nx; i++) w->x0[i] = -r[no + i];
  for (int i = 0; i < (T - 1) * nx; i++) e[i] = -r[no + nx + i];
  riccati_solve(E, q, e, 0, w->x0, z, z + no);
  for (int t = 0; t < T; t++) for (int rr = 0; rr < m; rr++) {
    int k = t * m + rr;
    if (E->act[k] == 0 || E->rs[k] != ROW_EQUALITY) { z[lo + k] = 0; continue; }
    z[lo + k] = w->W[k] * (row_value(E, t, rr, z + t * n) - r[lo + k]);
  }
}

DMPC_FN void sym_product(El *E, const double *z, double *out) {
  Ws *w = &E->w;
  int T = w->T, nx = w->nx, n = w->n, m = w->m, lo = T * (n + nx), no = T * n;
  for (int t = 0; t < T; t++) {
    double *wo = out + t * n;
    sym_mat_vec(E->C + t * E->Cst, z + t * n, wo, n);
    for (int rr = 0; rr < m; rr++) {
      int k = t * m + rr;
      if (E->act[k] == 0 || E->rs[k] != ROW_EQUALITY) { out[lo + k] = 0; continue; }
      row_axpy(E, t, rr, z[lo + k], wo);
      out[lo + k] = row_value(E, t, rr, z + t * n);
    }
    if (t < T - 1) {
      const double *F = E->F + t * E->Fst;
      int nn = no + (t + 1) * nx;
      add_transposed(F, z + nn, wo, nx, n);
      for (int i = 0; i < nx; i++) w->zx[i] = 0;
      dynamics(F, z + t * n, w->zx, out + nn, nx, n);
      for (int l = 0; l < nx; l++) out[nn + l] -= z[(t + 1) * n + l];
    }
    for (int i = 0; i < nx; i++) wo[i] -= z[no + t * nx + i];
  }
  for (int i = 0; i < nx; i++) out[no + i] = -z[i];
}

DMPC_FN void kkt_residual(El *E, const double *z, double *out) {
  Ws *w = &E->w;
  int T = w->T, nx = w->nx, n = w->n, m = w->m, lo = T * (n + nx), no = T * n;
  sym_product(E, z, out);
  for (int t = 0; t < T; t++) {
    for (int i = 0; i < n; i++) out[t * n + i] += E->c[t * E->cst + i];
    for (int r = 0; r < m; r++) {
      int k = t * m + r;
      if (E->act[k] != 0 && E->rs[k] == ROW_EQUALITY) out[lo + k] -= E->h[k];
    }
    if (t < T - 1) for (int i = 0; i < nx; i++) out[no + (t + 1) * nx + i] += E->f[t * E->fst + i];
  }
  for (int i = 0; i < nx; i++) out[no + i] += E->x0[i];
}

/* ---- polish.ts ---- */

DMPC_FN int polish_factor(El *E) {
  Ws *w = &E->w;
  int Tm = w->T * w->m;
  double Wp = E->polishPenalty * E->info[I_SCALEC];
  E->info[I_POLISHW] = Wp;
  for (int k = 0; k < Tm; k++) w->W[k] = E->rs[k] == ROW_EQUALITY ? Wp : 0;
  return riccati_factor(E, w->W, DMPC_SQRT(Wp * E->info[I_SCALEC]));
}

DMPC_FN int check_active_set(El *E, double *z, double tol, int revise) {
  Ws *w = &E->w;
  int T = w->T, nx = w->nx, n = w->n, m = w->m, lo = T * (n + nx);
  double tolP = tol * E->info[I_SCALEH], tolD = tol * E->info[I_SCALEC];
  int wrong = 0;
  for (int t = 0; t < T; t++) for (int rr = 0; rr < m; rr++) {
    int k = t * m + rr, i = lo + k;
    double c = E->rs[k];
    if (E->act[k] == 0) continue;
    double v = row_value(E, t, rr, z + t * n) - E->h[k];
    double next = c;
    if (c == ROW_INACTIVE) { if (v > tolP) next = ROW_EQUALITY; }
    else if (z[i] < -tolD) next = ROW_INACTIVE;
    if (next == c) continue;
    wrong++;
    if (!revise) return wrong;
    E->rs[k] = next;
    if (next == ROW_INACTIVE) z[i] = 0;
  }
  return wrong;
}

DMPC_FN double refine(El *E, double scale) {
  Ws *w = &E->w;
  double *z = w->w0, *r = w->w1, *dz = w->w2;
  int N = w->N;
  double prev = DMPC_INF, res = DMPC_INF;
  for (int it = 0; it < 8; it++) {
    kkt_residual(E, z, r);
    res = 0;
    for (int i = 0; i < N; i++) { double a = DMPC_FABS(r[i]); if (a > res) res = a; r[i] = -r[i]; }
    if (res <= 1e-14 * scale || res > 0.5 * prev) break;
    prev = res;
    penalty_solve(E, r, dz);
    for (int i = 0; i < N; i++) z[i] += dz[i];
    if (it == 0 && check_active_set(E, z, 1e-3, 0) > 0) return DMPC_INF;
  }
  return res;
}

DMPC_FN int polish_element(El *E, int final_) {
  Ws *w = &E->w;
  int T = w->T, nx = w->nx, n = w->n, m = w->m, lo = T * (n + nx), no = T * n;
  classify_rows(E);
  double *z = w->w0;
  for (int i = 0; i < T * n; i++) z[i] = E->tau[i];
  for (int i = 0; i < T * nx; i++) z[no + i] = E->nu[i];
  for (int i = 0; i < T * m; i++) z[lo + i] = E->rs[i] == ROW_EQUALITY ? E->lam[i] : 0;
  double scale = E->info[I_SCALEC] > E->info[I_SCALEH] ? E->info[I_SCALEC] : E->info[I_SCALEH];
  double res = DMPC_INF;
  for (int revision = 0;; revision++) {
    if (polish_factor(E) != -1) return 0;
    res = refine(E, scale);
    double tol = res <= 1e-9 * scale ? 1e-9 : 1e-3;
    if (res <= 1e-9 * scale && check_active_set(E, z, tol, 0) == 0) break;
    if (revision == (final_ ? 8 : 2)) return 0;
    /* a speculative guess with more than 4 rows in the wrong class is dropped, not revised */
    int wrong = check_active_set(E, z, tol, 1);
    if (wrong == 0 || (!final_ && wrong > 4)) return 0;
    E->info[I_TRIES] += 1;
  }
  for (int i = 0; i < T * n; i++) E->tau[i] = z[i];
  for (int i = 0; i < T * nx; i++) E->nu[i] = z[no + i];
  double rp = 0;
  for (int t = 0; t < T; t++) for (int rr = 0; rr < m; rr++) {
    int k = t * m + rr;
    if (E->act[k] == 0) continue;
    double v = row_value(E, t, rr, E->tau + t * n) - E->h[k];
    E->lam[k] = z[lo + k];
    E->s[k] = E->rs[k] == ROW_INACTIVE ? -v : 0;
    if (v > rp) rp = v;
  }
  E->info[I_PRES] = rp > 0 ? rp : 0;
  E->info[I_DRES] = res;
  E->info[I_GAP] = 0;
  return 1;
}

/* ---- the iteration (ipm.ts) ---- */

DMPC_FN void iterate_element(El *E) {
  Ws *w = &E->w;
  int T = w->T, nx = w->nx, n = w->n, m = w->m, Tm = T * m;
  double mu = E->info[I_GAP];
  for (int a = 0; a < w->Lcount; a++) { int i = w->Li[a]; w->W[i] = 1 / (E->s[i] / E->lam[i]); }
  if (riccati_factor(E, w->W, DMPC_INF) != -1) { finish(E, ST_NUMERICAL_ERROR); return; }
  double acc[4];
  double aA = direction(E, 1, 0, w->dtauA, w->dnuA, w->dlA, w->dsA, acc);
  double muA = (acc[0] + aA * (acc[1] + aA * acc[2])) / acc[3];
  double ratio = muA / mu, sigma = ratio * ratio * ratio;
  if (sigma > 1) sigma = 1;
  double a = 0.995 * direction(E, 0, sigma * mu, w->dtau, w->dnu, w->dl, w->ds, acc);
  if (a > 1) a = 1;
  for (int i = 0; i < T * n; i++) E->tau[i] += a * w->dtau[i];
  for (int i = 0; i < T * nx; i++) E->nu[i] += a * w->dnu[i];
  for (int c = 0; c < w->Lcount; c++) { int i = w->Li[c]; E->s[i] += a * w->ds[i]; E->lam[i] += a * w->dl[i]; }
  (void)Tm;
  E->info[I_ITER] += 1;
}

DMPC_FN void check_element(El *E) {
  double mu = residuals(E);
  double sC = E->info[I_SCALEC], sH = E->info[I_SCALEH];
  if (!DMPC_ISFINITE(mu) || !DMPC_ISFINITE(E->info[I_DRES]) || !DMPC_ISFINITE(E->info[I_PRES])) { finish(E, ST_NUMERICAL_ERROR); return; }
  double rpm = DMPC_SQRT(E->polishMu);
  int small = E->info[I_PRES] <= rpm * sH && E->info[I_DRES] <= rpm * sC;
  if (E->polish && small && mu <= E->polishMu * sC) {
    int sig = active_signature(E);
    /* after a first (speculative) attempt, the guess must also have been the same at the last check */
    int stable = E->info[I_TRIES] == 0 || sig == (int)E->info[I_PREVSIG];
    E->info[I_PREVSIG] = sig;
    int converged = mu <= E->tol * sC;
    if ((stable && sig != (int)E->info[I_LASTSIG]) || converged) {
      E->info[I_TRIES] += 1;
      if (polish_element(E, converged)) { E->info[I_POLISHED] = 1; finish(E, ST_OPTIMAL); return; }
      E->info[I_LASTSIG] = sig;
    }
  }
  if (E->info[I_PRES] <= E->tol * sH && E->info[I_DRES] <= E->tol * sC && mu <= E->tol * sC) {
    classify_rows(E); finish(E, ST_OPTIMAL); return;
  }
  if (infeasibility_certificate(E)) { finish(E, ST_PRIMAL_INFEASIBLE); return; }
  if (E->info[I_ITER] >= E->maxIter) { classify_rows(E); finish(E, ST_MAX_ITER); }
}

DMPC_FN void init_element(El *E, const double *warmU, const double *warmLam) {
  Ws *w = &E->w;
  int T = w->T, nx = w->nx, nu = w->nu, n = w->n, m = w->m, Tm = T * m;
  double sc = 0, sh = 0;
  double cm = 0;
  for (int t = 0; t < T; t++) {
    for (int i = 0; i < n; i++) { double a = DMPC_FABS(E->c[t * E->cst + i]); if (a > sc) sc = a; }
    for (int i = 0; i < n * n; i++) { double a = DMPC_FABS(E->C[t * E->Cst + i]); if (a > cm) cm = a; }
  }
  if (cm * 1e-3 > sc) sc = cm * 1e-3;
  for (int i = 0; i < Tm; i++) if (E->act[i] != 0) { double a = DMPC_FABS(E->h[i]); if (a > sh) sh = a; }
  for (int i = 0; i < N_INFO; i++) E->info[i] = 0;
  E->info[I_SCALEC] = 1 + sc; E->info[I_SCALEH] = 1 + sh;
  for (int i = 0; i < nx; i++) E->tau[i] = E->x0[i];
  for (int t = 0; t < T; t++) {
    double *tt = E->tau + t * n;
    for (int j = 0; j < nu; j++) tt[nx + j] = warmU ? warmU[t * nu + j] : 0;
    if (t < T - 1) dynamics(E->F + t * E->Fst, tt, E->f + t * E->fst, tt + n, nx, n);
  }
  for (int i = 0; i < T * nx; i++) { E->nu[i] = 0; w->ze[i] = 0; }
  w->Lcount = 0;
  for (int t = 0; t < T; t++) for (int r = 0; r < m; r++) {
    int k = t * m + r, c = w->Lcount;
    if (E->act[k] == 0) continue;
    w->Li[c] = k; w->Lr[c] = r;
    if (E->kind[r] == 0) { w->Lcol[c] = t * n + E->idx[r]; w->Lgo[c] = -1; }
    else { w->Lcol[c] = t * n; w->Lgo[c] = t * E->Gst + E->idx[r] * n; }
    w->Lcount = c + 1;
  }
  double floor_ = warmU ? 1e-2 : 1;
  int active = 0;
  for (int t = 0; t < T; t++) for (int r = 0; r < m; r++) {
    int k = t * m + r;
    E->rs[k] = ROW_INACTIVE;
    if (E->act[k] == 0) { E->s[k] = 1; E->lam[k] = 0; w->W[k] = 0; continue; }
    active++;
    double slack = E->h[k] - row_value(E, t, r, E->tau + t * n);
    double lam = 1;
    if (warmU && warmLam) lam = warmLam[k] > floor_ ? warmLam[k] : floor_;
    E->lam[k] = lam;
    E->s[k] = slack > floor_ ? slack : floor_;
  }
  E->info[I_STATUS] = ST_MAX_ITER;
  E->info[I_LASTSIG] = (double)(int)0x5bd1e995;
  E->info[I_PREVSIG] = (double)(int)0x1b873593;
  if (m != 0 && active != 0) return;
  /* unconstrained: one LQ solve is the answer */
  if (riccati_factor(E, 0, DMPC_INF) != -1) { finish(E, ST_NUMERICAL_ERROR); return; }
  for (int t = 0; t < T; t++) for (int i = 0; i < n; i++) w->q[t * n + i] = E->c[t * E->cst + i];
  riccati_solve(E, w->q, 0, 0, E->x0, E->tau, E->nu);
  E->info[I_ITER] = 1;
  for (int i = 0; i < Tm; i++) w->W[i] = 0;
  finish(E, ST_OPTIMAL);
  E->info[I_POLISHED] = 1;
}

DMPC_FN double objective_of(El *E) {
  Ws *w = &E->w;
  int T = w->T, n = w->n;
  double J = 0;
  for (int t = 0; t < T; t++) {
    sym_mat_vec(E->C + t * E->Cst, E->tau + t * n, w->qt, n);
    for (int i = 0; i < n; i++) J += (0.5 * w->qt[i] + E->c[t * E->cst + i]) * E->tau[t * n + i];
  }
  return J;
}

DMPC_FN void solve_element(const MpcArgs *a, int b) {
  El E = element(a, b);
  int T = a->T, nu = a->nu, m = a->m;
  const double *warmU = a->warmU ? (const double *)a->warmU + (long)b * T * nu : 0;
  const double *warmLam = a->warmLam ? (const double *)a->warmLam + (long)b * T * m : 0;
  init_element(&E, warmU, warmLam);
  if (E.info[I_DONE] == 0) residuals(&E);
  while (E.info[I_DONE] == 0) {
    iterate_element(&E);
    if (E.info[I_DONE] == 0) check_element(&E);
  }
  E.info[I_OBJ] = objective_of(&E);
}

/* ---- backward.ts: the adjoint of the active-set KKT system ---- */

/* z ← K_sym⁻¹ rhs by refinement from the penalty factorization (kkt.ts symSolve). */
DMPC_FN void sym_solve(El *E, const double *rhs, double *z, int steps) {
  Ws *w = &E->w;
  int N = w->N;
  double *r = w->r, *dz = w->z;
  penalty_solve(E, rhs, z);
  double prev = DMPC_INF;
  for (int it = 0; it < steps; it++) {
    sym_product(E, z, r);
    double res = 0, scale = 0;
    for (int i = 0; i < N; i++) {
      double ri = rhs[i] - r[i], ab = DMPC_FABS(ri), s = DMPC_FABS(rhs[i]);
      r[i] = ri;
      if (ab > res) res = ab;
      if (s > scale) scale = s;
    }
    if (res <= 1e-15 * scale || res >= prev) break;
    prev = res;
    penalty_solve(E, r, dz);
    for (int i = 0; i < N; i++) z[i] += dz[i];
  }
}

DMPC_FN void backward_element(const MpcArgs *a, int b) {
  El E = element(a, b);
  Ws *w = &E.w;
  int T = a->T, nx = a->nx, nu = a->nu, n = nx + nu, m = a->m, N = w->N, lo = T * (n + nx), no = T * n;
  double *gC = (double *)a->gC + (long)b * T * n * n, *gc = (double *)a->gc + (long)b * T * n;
  double *gF = (double *)a->gF + (long)b * T * nx * n, *gf = (double *)a->gf + (long)b * T * nx;
  double *gx0 = (double *)a->gx0 + (long)b * nx, *gh = (double *)a->gh + (long)b * T * m;
  const double *g = (const double *)a->g + (long)b * T * n;
  int mg = a->mg;
  double *gG = a->gG ? (double *)a->gG + (long)b * T * mg * n : 0;
  if (gG) for (int i = 0; i < T * mg * n; i++) gG[i] = 0;
  for (int i = 0; i < T * n * n; i++) gC[i] = 0;
  for (int i = 0; i < T * n; i++) gc[i] = 0;
  for (int i = 0; i < T * nx * n; i++) gF[i] = 0;
  for (int i = 0; i < T * nx; i++) gf[i] = 0;
  for (int i = 0; i < nx; i++) gx0[i] = 0;
  for (int i = 0; i < T * m; i++) gh[i] = 0;
  int status = (int)E.info[I_STATUS];
  E.info[I_GRAD] = G_ZERO;
  if (status != ST_OPTIMAL && status != ST_MAX_ITER) return;
  int kind = G_EXACT;
  if (status != ST_OPTIMAL || E.info[I_POLISHED] != 1) {
    kind = G_ACTIVE_SET;
    classify_rows(&E);
    if (polish_factor(&E) != -1) { E.info[I_GRAD] = G_UNSUPPORTED; return; }
  } else if (E.info[I_FSTATUS] != -1) {
    if (polish_factor(&E) != -1) { E.info[I_GRAD] = G_UNSUPPORTED; return; }
  }
  if (!(E.info[I_RCOND] >= 1e-13)) { E.info[I_GRAD] = G_UNSUPPORTED; return; }
  /* v = K⁻ᵀ g (K_sym is symmetric; inactive rows are identity rows), u = −v */
  double *rhs = w->rhsT, *z = w->zT;
  for (int i = 0; i < N; i++) rhs[i] = 0;
  for (int i = 0; i < T * n; i++) rhs[i] = g[i];
  sym_solve(&E, rhs, z, a->refineSteps);
  for (int i = 0; i < T * m; i++) if (E.act[i] == 0 || E.rs[i] != ROW_EQUALITY) z[lo + i] = rhs[lo + i];
  for (int i = 0; i < N; i++) z[i] = -z[i];
  const double *u = z;
  for (int t = 0; t < T; t++) {
    const double *ut = u + t * n, *tt = E.tau + t * n;
    double *G = gC + t * n * n;
    for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) G[i * n + j] += 0.5 * (ut[i] * tt[j] + tt[i] * ut[j]);
    for (int i = 0; i < n; i++) gc[t * n + i] += ut[i];
    if (t < T - 1) {
      const double *uv = u + no + (t + 1) * nx, *sv = E.nu + (t + 1) * nx;
      double *GF = gF + t * nx * n;
      for (int i = 0; i < nx; i++) for (int j = 0; j < n; j++) GF[i * n + j] += sv[i] * ut[j] + uv[i] * tt[j];
      for (int i = 0; i < nx; i++) gf[t * nx + i] += uv[i];
    }
    for (int r = 0; r < m; r++) {
      int k = t * m + r;
      if (E.act[k] == 0) continue;
      int eq = E.rs[k] == ROW_EQUALITY;
      if (eq) gh[k] += -u[lo + k];
      if (E.kind[r] != 0 && gG) {
        /* ∂/∂G of λ∇g (stationarity) and of g(τ) (active rows), as backward.ts */
        double lm = E.lam[k], uRow = eq ? u[lo + k] : 0;
        double *gr = gG + ((long)t * mg + E.idx[r]) * n;
        for (int j = 0; j < n; j++) gr[j] += lm * ut[j] + uRow * tt[j];
      }
    }
  }
  for (int i = 0; i < nx; i++) gx0[i] += u[no + i];
  E.info[I_GRAD] = kind;
}

/* ---- entry points ---- */

#ifdef __CUDACC__
DMPC_KERNEL mpc_box_solve(MpcArgs a) { DMPC_ELEMENT_LOOP(b, a.B) solve_element(&a, b); }
DMPC_KERNEL mpc_box_backward(MpcArgs a) { DMPC_ELEMENT_LOOP(b, a.B) backward_element(&a, b); }
#else
DMPC_KERNEL mpc_box_solve(const MpcArgs *ap) { MpcArgs a = *ap; DMPC_ELEMENT_LOOP(b, a.B) solve_element(&a, b); }
DMPC_KERNEL mpc_box_backward(const MpcArgs *ap) { MpcArgs a = *ap; DMPC_ELEMENT_LOOP(b, a.B) backward_element(&a, b); }
/* host-only helpers for the tests: the scratch size and the argument block's size as this compiler
 * lays it out (the host packs it by hand; a mismatch would be a silent disaster) */
__attribute__((visibility("default"))) long mpc_work_size(int T, int nx, int nu, int m) { return work_size(T, nx, nu, m); }
__attribute__((visibility("default"))) long mpc_args_size(void) { return (long)sizeof(MpcArgs); }
/* reads a field back through a kernelParams-style void** (the CUDA launch path's marshalling) */
__attribute__((visibility("default"))) double mpc_args_probe(void **params, int which) {
  const MpcArgs *a = (const MpcArgs *)params[0];
  return which == 0 ? (double)a->B : which == 1 ? a->tol : which == 2 ? (double)a->refineSteps : (double)a->work;
}
#endif
