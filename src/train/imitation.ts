/**
 * Imitation learning through the MPC layer (Amos et al., "Differentiable MPC for End-to-end Planning
 * and Control", NeurIPS 2018, §5.2), on the pendulum and cart-pole of p2/p3 (models/discrete).
 *
 * - Expert: the MPC with the true cost (the files' q, p) and the true dynamics θ* (or, in the
 *   unrealisable case, dynamics outside the learner's model class: the pendulum of the paper's
 *   non-realisable experiment, with a spring on the angle and a gravity bias, and the cart-pole with
 *   viscous friction on the cart velocity; see expertModel).
 * - Demonstrations: the expert's optimal plans τ*(x₀) = (x*, u*) over the horizon T from random x₀.
 * - Learner: the same MPC structure with unknown parameters ψ = [log q | p | log θ] (the parts chosen
 *   by `learn`: cost = q and p, dynamics = θ, both), the rest at the true values. Loss
 *   L(ψ) = mean over demonstrations of Σₜ ‖uₜ(x₀; ψ) − u*ₜ‖², the learner's plan solved by SQP
 *   (src/mpc sqpSolve) and differentiated through its KKT system (sqpBackward). Adam, float64, in the
 *   goal coordinates φ = [log q | τ̂ | log θ] with p = −q∘τ̂ and the cost's scale pinned (goalCoordinates).
 * - Baselines on the same demonstrations: (a) system identification: θ fitted by Gauss–Newton to the
 *   demonstrations' transitions (xₜ, uₜ) → xₜ₊₁ (the model's own one-step prediction), then the MPC with
 *   that θ; (b) a neural-network policy x₀ ↦ u₀..u_{T−1} (tfjs MLP) trained on the same loss
 *   (imitationNn.ts).
 *
 * Determinism: demonstrations and initial parameters come from the seed; every evaluation is split
 * into chunks of `chunk` demonstrations (independent of the thread count) combined in order, so a run
 * is bit-identical with any number of threads, and a run resumed from a checkpoint continues exactly
 * as the uninterrupted run (the checkpoint holds ψ, Adam's moments, the warm starts and the curves).
 */
import type { DiscreteModel } from '../mpc/model.js';
import { pendulum as pendulumDx } from '../../models/discrete/pendulum.js';
import { cartpole as cartpoleDx } from '../../models/discrete/cartpole.js';
import { plainDiscrete } from '../../models/discrete/plain.js';
import { sqpBackward, sqpSolve } from '../mpc/sqp.js';
import { createRng } from '../common/rng.js';
import { DmpcInputError } from '../common/errors.js';
import type { ProgressSink } from './progress.js';
import { chunkRunner } from './pool.js';
import { type CheckpointOptions, checkpointer, loadCheckpoint } from './checkpoint.js';
import { primalGradientExact } from '../common/status.js';
import { defineDiscreteModel } from '../ad/index.js';

export type ImitationTask = 'pendulum' | 'cartpole';
export type LearnWhat = 'cost' | 'dynamics' | 'both';
export const LEARNERS = ['cost', 'dynamics', 'both'] as const satisfies readonly LearnWhat[];
export const isLearner = (m: string): m is LearnWhat => (LEARNERS as readonly string[]).includes(m);

export interface TaskSpec {
  task: ImitationTask;
  T: number;
  /** True cost ½τᵀdiag(q)τ + pᵀτ and control bounds. */
  q: number[];
  p: number[];
  uBound: number;
  /** What the expert's dynamics have that the learner's model class lacks (null: realisable; see expertModel). */
  mismatch: ExpertMismatch | null;
  /** The initial states' pole angles are drawn from [−startAngle, startAngle] (0 = upright; sampleStarts). */
  startAngle: number;
}

/**
 * The unrealisable experts' extra dynamics:
 * - 'spring-bias' (pendulum): the `pendulum-complex` expert of Amos et al.'s non-realisable experiment
 *   (locuslab/differentiable-mpc, imitation_nonconvex/il_env.py; mpc.pytorch PendulumDx(simple=False)):
 *   angular acceleration 3g/(2l)·sin(θ + bias) + 3u/(ml²) − spring·θ, with θ = atan2(sin, cos) ∈ (−π, π];
 * - 'friction' (cart-pole; the paper has no unrealisable cart-pole): viscous friction −c·ẋ on the cart.
 */
export type ExpertMismatch = { kind: 'spring-bias'; spring: number; bias: number } | { kind: 'friction'; c: number };

/**
 * The task's settings. The unrealisable pendulum is the paper's: its expert ('spring-bias': spring 1,
 * bias 0.1 rad) and its initial angles, |θ| ≤ π/2 (il_env.py samples the pendulum's starts there). The
 * realisable pendulum and the cart-pole keep the full circle of p2/p3's swing-up. Why the unrealisable
 * pendulum changed (issue 17, finding 2): with starts from the whole circle and the earlier friction
 * expert, 1–3 of 32 validation starts per seed swing up the other way for every θ of the learner's
 * class (sysid's, the imitation learner's and the nominal θ* alike, 100–300 each), which buried the
 * two methods' differences (about 1 per start) under the same [13, 31] (docs/training.md).
 */
export function taskSpec(task: ImitationTask, T?: number, unrealisable = false): TaskSpec {
  if (task === 'pendulum') {
    return { task, T: T ?? 20, q: [1, 1, 0.1, 0.001], p: [-1, 0, 0, 0], uBound: 2,
      mismatch: unrealisable ? { kind: 'spring-bias', spring: 1, bias: 0.1 } : null, startAngle: unrealisable ? Math.PI / 2 : Math.PI };
  }
  if (task === 'cartpole') {
    return { task, T: T ?? 25, q: [0.1, 0.1, 1, 1, 0.1, 0.001], p: [0, 0, -1, 0, 0, 0], uBound: 100,
      mismatch: unrealisable ? { kind: 'friction', c: 2 } : null, startAngle: Math.PI };
  }
  throw new Error(`imitate: unknown task '${String(task)}' (pendulum, cartpole)`);
}

/** The learner's model class (the files' models with their θ*). */
export function learnerModel(task: ImitationTask): DiscreteModel {
  return task === 'pendulum' ? pendulumDx() : cartpoleDx();
}

/**
 * The expert's dynamics: the learner's model, or (unrealisable) one that no θ of it represents, from
 * the same plain definition with the extra terms switched on (models/discrete/plain.ts), its Jacobians
 * and d2 derived by src/ad:
 * - pendulum, the paper's non-realisable expert (mpc.pytorch PendulumDx(simple=False), d = spring,
 *   b = bias): no (g, m, l) represents it, since the bias moves the upright equilibrium and the spring
 *   adds a term in θ that sin θ cannot give;
 * - cart-pole, viscous friction −c·ẋ added to the *clamped* force, so that it acts whatever the motor
 *   does. (An earlier version added friction before the model's own clamp, for the pendulum too: it
 *   vanished whenever the motor saturated against the motion, and the expert's dynamics were
 *   non-smooth along its own plans; 56 of 64 friction-pendulum demonstration solves then stopped at
 *   the iteration cap.)
 */
export function expertModel(spec: TaskSpec): DiscreteModel {
  const base = learnerModel(spec.task), mm = spec.mismatch;
  if (!mm) return base;
  if ((mm.kind === 'spring-bias') !== (spec.task === 'pendulum')) {
    throw new DmpcInputError('imitate', 'spec.mismatch', `'${mm.kind}' is not an unrealisable expert of task '${spec.task}' (pendulum: spring-bias, cartpole: friction)`);
  }
  const f = mm.kind === 'spring-bias' ? plainDiscrete.pendulum({ spring: mm.spring, bias: mm.bias }) : plainDiscrete.cartpole({ friction: mm.c });
  return defineDiscreteModel({
    name: `${base.name}+${mm.kind}`, paramNames: base.paramNames, theta: base.theta, angle: base.angle,
    stateNames: spec.task === 'pendulum' ? ['cos', 'sin', 'dth'] : ['x', 'xdot', 'cos', 'sin', 'dth'], controlNames: ['u'], f,
  });
}

/**
 * A run's training, validation and test starts, drawn as every runner (trainImitation, the experiment,
 * the sweep's baselines) draws them from its seed, so that they all see the same demonstrations. The
 * test starts are a third independent draw: the validation set chooses the iterate (model selection),
 * the test set scores it.
 */
export function runStarts(spec: TaskSpec, nTrain: number, nVal: number, seed: number, nTest = 0): { xTrain: Float64Array; xVal: Float64Array; xTest: Float64Array } {
  return {
    xTrain: sampleStarts(spec.task, nTrain, seed * 2 + 1, spec.startAngle),
    xVal: sampleStarts(spec.task, nVal, seed * 2 + 2, spec.startAngle),
    // a negative seed (mulberry32 takes it mod 2³²) never meets the positive ones above
    xTest: sampleStarts(spec.task, nTest, -(seed + 1), spec.startAngle),
  };
}

/**
 * Random initial states of the task: the angle uniform in [−startAngle, startAngle] (default π, the
 * swing-up distribution of p2/p3: any angle; TaskSpec.startAngle), small rates.
 */
export function sampleStarts(task: ImitationTask, count: number, seed: number, startAngle = Math.PI): Float64Array {
  if (!(startAngle > 0 && startAngle <= Math.PI)) throw new DmpcInputError('imitate', 'startAngle', `must be in (0, π] (got ${startAngle})`);
  const rng = createRng(seed);
  const nx = task === 'pendulum' ? 3 : 5;
  const out = new Float64Array(count * nx);
  for (let b = 0; b < count; b++) {
    const th = rng.range(-startAngle, startAngle);
    if (task === 'pendulum') out.set([Math.cos(th), Math.sin(th), rng.range(-1, 1)], b * nx);
    else out.set([rng.range(-0.5, 0.5), rng.range(-0.5, 0.5), Math.cos(th), Math.sin(th), rng.range(-0.5, 0.5)], b * nx);
  }
  return out;
}

/**
 * The combinations of θ that plans can determine, with their names. The pendulum's (g, m, l) enter its
 * dynamics only through a = 3g/(2l) and b = 3/(m l²) (models/discrete/pendulum.ts); the cart-pole's
 * four parameters are identifiable one by one (the control's scale gives mc + mp, the cos² term mp,
 * m_p·l then l, and the gravity term g).
 */
export function identifiable(task: ImitationTask, theta: ArrayLike<number>): { names: string[]; values: number[] } {
  if (task === 'pendulum') {
    const [g, m, l] = Array.from(theta);
    return { names: ['3g/(2l)', '3/(ml²)'], values: [(3 * g) / (2 * l), 3 / (m * l * l)] };
  }
  return { names: ['gravity', 'masscart', 'masspole', 'length'], values: Array.from(theta) };
}

/** Learner parameters: the full vector ψ = [log q (n) | p (n) | log θ (np)] and which parts train. */
export interface ParamLayout { n: number; np: number; size: number; mask: Uint8Array }

export function paramLayout(spec: TaskSpec, learn: LearnWhat): ParamLayout {
  const model = learnerModel(spec.task), n = model.nx + model.nu, np = model.np;
  const mask = new Uint8Array(2 * n + np);
  if (learn === 'cost' || learn === 'both') mask.fill(1, 0, 2 * n);
  if (learn === 'dynamics' || learn === 'both') mask.fill(1, 2 * n);
  return { n, np, size: 2 * n + np, mask };
}

export function trueParams(spec: TaskSpec): Float64Array {
  const model = learnerModel(spec.task);
  return Float64Array.from([...spec.q.map(Math.log), ...spec.p, ...Array.from(model.theta, Math.log)]);
}

/**
 * The coordinates the learner moves in: φ = [log q | τ̂ | log θ], with the cost's linear term written
 * through its goal, p = −q∘τ̂ (so ½qᵢτᵢ² + pᵢτᵢ = ½qᵢ(τᵢ − τ̂ᵢ)² + const).
 *
 * Why not p itself: p's natural size is qᵢ times a value of τᵢ, and the q's span three decades
 * (q_u = 0.001). A change of p_u by 0.1, one Adam step at lr 0.1 (Adam moves every coordinate by
 * about lr whatever its scale), moves the goal control by p_u/q_u = 100, far outside the bounds
 * (±2 on the pendulum): the plans go to their bounds, where the active set makes ∂u/∂ψ exactly zero,
 * and the learner of cost and dynamics sat on that plateau (measured: gradients of 1e-20–1e-18 in 34
 * of 40 iterations, 93–99 % of the controls on a bound; docs/training.md). In φ a step of lr moves
 * a goal by lr in the variable's own units, and the loss's invariance to a common scale of q and p
 * becomes the plain shift of log q (see pinCostScale).
 */
export function goalCoordinates(psi: ArrayLike<number>, n: number): Float64Array {
  const phi = Float64Array.from(psi);
  for (let i = 0; i < n; i++) phi[n + i] = -psi[n + i] / Math.exp(psi[i]);
  return phi;
}

/** ψ = [log q | p | log θ] from φ = [log q | τ̂ | log θ] (p = −q∘τ̂); the inverse of goalCoordinates. */
export function costCoordinates(phi: ArrayLike<number>, n: number): Float64Array {
  const psi = Float64Array.from(phi);
  for (let i = 0; i < n; i++) psi[n + i] = -Math.exp(phi[i]) * phi[n + i];
  return psi;
}

/**
 * ∂L/∂φ from ∂L/∂ψ at ψ (chain rule of p = −q∘τ̂ with q = e^{log q}):
 * ∂L/∂log qᵢ|_φ = ∂L/∂log qᵢ|_ψ + pᵢ ∂L/∂pᵢ, ∂L/∂τ̂ᵢ = −qᵢ ∂L/∂pᵢ.
 */
export function gradientInGoalCoordinates(psi: ArrayLike<number>, grad: ArrayLike<number>, n: number): Float64Array {
  const g = Float64Array.from(grad);
  for (let i = 0; i < n; i++) {
    g[i] = grad[i] + psi[n + i] * grad[n + i];
    g[n + i] = -Math.exp(psi[i]) * grad[n + i];
  }
  return g;
}

/**
 * The plans depend on q and p only up to a common positive factor, i.e. (in φ) not on the mean of
 * log q: the loss and its gradient are constant along that direction (measured: the gradient's
 * component there is 1e-16 of its norm or less). Gradient steps do not need it fixed, but Adam's
 * per-coordinate scaling turns a gradient with zero mean over log q into a step with a non-zero one,
 * so the cost's scale drifts (by up to e^0.6 in 40 iterations, measured on the pendulum) with no
 * effect on any plan. Pinning the mean of log q to `mean` (the start's) removes that gauge: no loss
 * changes, and the learned q stay in the start's scale.
 */
export function pinCostScale(phi: Float64Array, n: number, mean: number): void {
  let s = 0;
  for (let i = 0; i < n; i++) s += phi[i];
  const shift = mean - s / n;
  for (let i = 0; i < n; i++) phi[i] += shift;
}

/**
 * The learner's initial ψ: trained parts perturbed from the truth (seeded), the rest true. The
 * perturbation is drawn in the learner's coordinates φ (goalCoordinates): log q by up to ±0.7, the goal
 * τ̂ by up to ±0.2 in each variable's units, log θ by up to ±0.4.
 */
export function initialParams(spec: TaskSpec, learn: LearnWhat, seed: number): Float64Array {
  const lay = paramLayout(spec, learn), phi = goalCoordinates(trueParams(spec), lay.n), rng = createRng(seed ^ 0x5eed);
  for (let k = 0; k < lay.size; k++) {
    if (!lay.mask[k]) continue;
    if (k < lay.n) phi[k] += rng.range(-0.7, 0.7);               // log q: factors e^±0.7
    else if (k < 2 * lay.n) phi[k] += rng.range(-0.2, 0.2);      // τ̂: the goal ± 0.2
    else phi[k] += rng.range(-0.4, 0.4);                         // log θ: factors e^±0.4
  }
  return costCoordinates(phi, lay.n);
}

/** SQP settings of one kind of solve (plain data: it travels to worker threads). */
export interface SolveSettings { tol: number; maxIter: number; hessian: 'exact' | 'gauss-newton' }

/**
 * The expert's demonstration solves, and the learner's like-for-like validation solves: these settings
 * and sqpSolve's own initial plan rule (no `uInit`: zero controls, projected onto the bounds). With the
 * expert's parameters the learner's solve is then the expert's solve, and gives the expert's plan.
 */
export const DEMO_SOLVE: SolveSettings = { tol: 1e-10, maxIter: 200, hessian: 'exact' };
/**
 * Training (and warm-started validation) solves: started near the answer, so a looser tolerance. Both
 * use the exact-Hessian SQP: with the Gauss–Newton Hessian the swing-ups converge linearly (cart-pole
 * demonstrations: 19 of 64 at the cap of 100, mean 57 iterations; exact: none, mean 12, at most 57), and
 * a training solve stopped at the cap has only an approximate gradient (with the former cap of 30, 4 of
 * every 10 cart-pole training elements).
 */
export const TRAIN_SOLVE: SolveSettings = { tol: 1e-8, maxIter: 100, hessian: 'exact' };

/** One chunk of demonstrations evaluated with parameters ψ: loss sum, gradient sum, and the plans (warm starts). */
export interface ChunkInput {
  spec: TaskSpec;
  psi: Float64Array;
  x0: Float64Array;
  /** Target controls [B, T, nu]. */
  target: Float64Array;
  /** Initial plan [B, T, nu]; none: sqpSolve's default (zero controls), the expert's rule. */
  uInit?: Float64Array;
  /** SQP settings (default TRAIN_SOLVE). */
  solve?: SolveSettings;
  gradient: boolean;
  hessian: 'exact' | 'gauss-newton';
}
/** `inexact`: elements whose gradient is not the exact derivative (the MPC layer's labelled Gauss–Newton fallback or active-set guess). */
export interface ChunkOutput { loss: number; grad: Float64Array; u: Float64Array; failures: number; inexact: number }

export function evaluateChunk(inp: ChunkInput): ChunkOutput {
  const { spec, psi } = inp;
  const model = learnerModel(spec.task);
  const { nx, nu } = model, n = nx + nu, np = model.np, T = spec.T;
  const B = inp.x0.length / nx;
  const q = Array.from(psi.subarray(0, n), Math.exp), p = Array.from(psi.subarray(n, 2 * n));
  const theta = Array.from(psi.subarray(2 * n, 2 * n + np), Math.exp);
  const C = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? q[i] : 0)));
  const sol = sqpSolve({ model, theta, T, x0: { data: inp.x0, shape: [B, nx] }, C, c: p, u_lower: -spec.uBound, u_upper: spec.uBound },
    inp.solve ?? TRAIN_SOLVE, inp.uInit);
  let loss = 0;
  const dLdu = new Float64Array(B * T * nu);
  for (let i = 0; i < B * T * nu; i++) { const d = sol.u[i] - inp.target[i]; loss += d * d; dLdu[i] = 2 * d; }
  const grad = new Float64Array(2 * n + np);
  let inexact = 0;
  if (inp.gradient) {
    const g = sqpBackward(sol, undefined, dLdu, { hessian: inp.hessian });
    inexact = g.gradStatus.filter((s) => !primalGradientExact(s)).length;
    for (let i = 0; i < n; i++) grad[i] = g.C[i * n + i] * q[i];
    for (let i = 0; i < n; i++) grad[n + i] = g.c[i];
    for (let b = 0; b < B; b++) for (let k = 0; k < np; k++) grad[2 * n + k] += g.theta[b * np + k] * theta[k];
    for (let k = 0; k < grad.length; k++) if (!Number.isFinite(grad[k])) grad[k] = 0;
  }
  const failures = sol.status.filter((s) => s !== 'optimal' && s !== 'max_iter').length;
  return { loss, grad, u: sol.u, failures, inexact };
}

/**
 * Expert demonstrations: the expert MPC's plans from x0 [B, nx] (DEMO_SOLVE, started at zero controls).
 * A demonstration is the expert's optimal plan or nothing: a solve that stops short of convergence is
 * an error naming it, never a silently used iterate.
 */
export function demonstrations(spec: TaskSpec, x0: Float64Array): { u: Float64Array; x: Float64Array } {
  const model = expertModel(spec);
  const { nx } = model, n = nx + model.nu, B = x0.length / nx;
  // no starts, no plans (a run without test starts); the solver rejects an empty batch
  if (B === 0) return { u: new Float64Array(0), x: new Float64Array(0) };
  const C = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? spec.q[i] : 0)));
  const sol = sqpSolve({ model, T: spec.T, x0: { data: x0, shape: [B, nx] }, C, c: spec.p, u_lower: -spec.uBound, u_upper: spec.uBound }, DEMO_SOLVE);
  const failed = sol.status.flatMap((s, b) => (s === 'optimal' ? [] : [`#${b} (${s} after ${sol.iterations[b]} SQP iterations, x0 = [${Array.from(x0.subarray(b * nx, (b + 1) * nx), (v) => v.toPrecision(4)).join(', ')}])`]));
  if (failed.length) throw new Error(`imitation ${spec.task}: ${failed.length} of ${B} expert demonstration solves did not converge: ${failed.join('; ')}`);
  return { u: sol.u, x: sol.x };
}

export interface ImitationConfig extends CheckpointOptions {
  task: ImitationTask;
  learn: LearnWhat;
  unrealisable?: boolean;
  T?: number;
  nTrain?: number;
  nVal?: number;
  /**
   * Test starts (default 32): scored once at the end, for the iterate the validation loss selects
   * (ImitationResult.selected) and for the first and last; never used to choose anything.
   */
  nTest?: number;
  iterations?: number;
  lr?: number;
  seed?: number;
  threads?: number;
  /** Demonstrations per work chunk (default 4). */
  chunk?: number;
  hessian?: 'exact' | 'gauss-newton';
  /**
   * Where the learner's training solves start: 'demo' (default) the demonstrated controls, so that the
   * non-convex swing-up problems are solved in the expert's basin and the loss measures the parameters
   * rather than which local plan the solver found; 'previous' the learner's own last plans.
   * Validation never uses the demonstrated controls (see ImitationResult).
   */
  warmStart?: 'demo' | 'previous';
  /** Adam step size schedule: 'cosine' (default) decays lr to lr/10 over the run; 'constant'. */
  lrSchedule?: 'cosine' | 'constant';
  /** Checkpoints (checkpoint.ts): written every `checkpointEvery` (10) iterations and when stopped early. */
  /** The learner's starting ψ = [log q | p | log θ] (default: the truth with the learned parts perturbed by the seed). */
  psiInit?: ArrayLike<number>;
  /**
   * Validate every this many iterations (default 1) and after the last; the curve holds NaN in
   * between. Validation solves cost about as much as training solves.
   */
  validateEvery?: number;
  /** Stop after this iteration (to simulate an interruption in tests); the checkpoint is written. */
  stopAfter?: number;
  progress?: ProgressSink;
  signal?: AbortSignal;
}

export interface ImitationCurvePoint {
  iteration: number; trainLoss: number;
  /** Like-for-like validation loss (ImitationResult.valLossFinal); NaN where not validated. */
  valLoss: number;
  /** Warm-started validation loss (ImitationResult.valLossWarmFinal); NaN where not validated. */
  valLossWarm: number;
  /** RMS of log(c(θ)/c(θ*)) over the identifiable combinations c (`identifiable`) of θ (NaN when the dynamics are not learned). */
  paramError: number;
  /** Fraction of training elements whose gradient was not exact (see ChunkOutput.inexact). */
  inexact: number;
}

export interface ImitationResult {
  config: Omit<ImitationConfig, 'progress' | 'signal'>;
  curve: ImitationCurvePoint[];
  psi: number[];
  psiTrue: number[];
  learned: { name: string; value: number; truth: number }[];
  /**
   * Like-for-like validation loss: every validation solve is set up exactly as the expert's
   * demonstration solve (DEMO_SOLVE, zero initial controls), so identical parameters give identical
   * plans and the loss measures only the parameters (and, for non-convex swing-ups, which basin those
   * parameters lead the expert's own solver to).
   */
  valLossInitial: number;
  valLossFinal: number;
  /**
   * Warm-started validation loss: each validation solve starts from the learner's own plan of the
   * previous validation (TRAIN_SOLVE), as a deployed controller starts from its last plan. Over a
   * run the plans follow the parameters, and may settle in another local swing-up than the expert's.
   */
  valLossWarmInitial: number;
  valLossWarmFinal: number;
  /**
   * The same validation loss with every solve started at the expert's plan: how far the learned MPC's
   * (local) optimum is from the expert's, without the question of which basin a solver reaches.
   */
  valLossFromExpertInitial: number;
  valLossFromExpertFinal: number;
  /**
   * Model selection as Amos et al. report it ("the best validation loss observed during the training
   * run"): of the validated iterates (every `validateEvery`-th, the first and the last), the one with
   * the lowest like-for-like validation loss (the earliest on a tie). Its loss on the separate test
   * starts is the figure to compare methods by: the validation loss that chose it is biased low.
   */
  selected: { iteration: number; valLoss: number; psi: number[]; paramError: number; learned: { name: string; value: number; truth: number }[] };
  /** Like-for-like loss on the test starts (config.nTest; NaN with none): before training, after the last iteration, and of the selected iterate. */
  testLossInitial: number;
  testLossFinal: number;
  testLossSelected: number;
  /** The selected iterate on the test starts with every solve started at the expert's plan (same-basin). */
  testLossFromExpertSelected: number;
  stopped: 'done' | 'interrupted' | 'cancelled';
}

/** What the training loop carries between iterations (the checkpoint's state). */
type F64 = Float64Array<ArrayBuffer>;
interface ImitationState {
  psi: F64; /** Adam's moments, in the goal coordinates φ */ m: F64; v: F64; uWarm: F64; uValWarm: F64; curve: ImitationCurvePoint[];
  /** The validated iterate with the lowest validation loss so far (model selection). */
  best: { iteration: number; valLoss: number; psi: F64 };
}
// /4: Adam's moments are in the goal coordinates φ (goalCoordinates), no longer in ψ's; /5: the
// unrealisable pendulum is the paper's (taskSpec), the cart-pole's friction after the clamp, and the
// solves by exact-Hessian SQP (other demonstrations); /6: the best validated iterate (model selection)
const CHECKPOINT_FORMAT = 'dmpc.checkpoint.imitation/6';

const paramNames = (spec: TaskSpec): string[] => {
  const model = learnerModel(spec.task);
  const tn = spec.task === 'pendulum' ? ['cos', 'sin', 'dth', 'u'] : ['x', 'xdot', 'cos', 'sin', 'dth', 'u'];
  return [...tn.map((s) => `q_${s}`), ...tn.map((s) => `p_${s}`), ...model.paramNames];
};

/** RMS of log(c(θ)/c(θ*)) over the task's identifiable combinations (θ* = the learner's model's own, the realisable expert's). */
export function identifiableError(task: ImitationTask, theta: ArrayLike<number>): number {
  const c = identifiable(task, theta).values, cTrue = identifiable(task, learnerModel(task).theta).values;
  return Math.sqrt(c.reduce((a, v, i) => a + Math.log(v / cTrue[i]) ** 2, 0) / c.length);
}

/** Runs the learner's training (the MPC through its gradients); the baselines are in runImitationExperiment. */
export async function trainImitation(cfg: ImitationConfig): Promise<ImitationResult> {
  const spec = taskSpec(cfg.task, cfg.T, cfg.unrealisable);
  const seed = cfg.seed ?? 0, nTrain = cfg.nTrain ?? 32, nVal = cfg.nVal ?? 32, nTest = cfg.nTest ?? 32, iters = cfg.iterations ?? 100;
  if (!(Number.isInteger(nTest) && nTest >= 0)) throw new DmpcInputError('imitate', 'nTest', `must be a non-negative integer (got ${nTest})`);
  const lr = cfg.lr ?? 0.05, chunk = cfg.chunk ?? 4, hessian = cfg.hessian ?? 'exact', validateEvery = cfg.validateEvery ?? 1;
  if (!(Number.isInteger(validateEvery) && validateEvery >= 1)) throw new DmpcInputError('imitate', 'validateEvery', `must be a positive integer (got ${validateEvery})`);
  const lay = paramLayout(spec, cfg.learn);
  const model = learnerModel(spec.task), nx = model.nx, nu = model.nu, T = spec.T;
  const { xTrain, xVal, xTest } = runStarts(spec, nTrain, nVal, seed, nTest);
  const dTrain = demonstrations(spec, xTrain), dVal = demonstrations(spec, xVal), dTest = demonstrations(spec, xTest);
  const psiTrue = trueParams(spec);
  const psiFirst = (): Float64Array => {
    if (!cfg.psiInit) return initialParams(spec, cfg.learn, seed);
    if (cfg.psiInit.length !== lay.size || !Array.from(cfg.psiInit).every(Number.isFinite)) {
      throw new DmpcInputError('imitate', 'psiInit', `must hold ${lay.size} finite numbers [log q | p | log θ] (got ${cfg.psiInit.length})`);
    }
    return Float64Array.from(cfg.psiInit);
  };
  let psi = psiFirst();
  // the cost's scale gauge is pinned at the start's (pinCostScale); recomputed from psiFirst() on resume
  const learnsCost = cfg.learn !== 'dynamics';
  const logQMean = psi.subarray(0, lay.n).reduce((a, x) => a + x, 0) / lay.n;
  let m = new Float64Array(lay.size), v = new Float64Array(lay.size);
  let uWarm = new Float64Array(nTrain * T * nu), uValWarm = new Float64Array(nVal * T * nu);
  let curve: ImitationCurvePoint[] = [];
  let best: ImitationState['best'] = { iteration: -1, valLoss: Infinity, psi: Float64Array.from(psi) };
  let start = 0;
  const key = JSON.stringify({ task: cfg.task, learn: cfg.learn, unrealisable: !!cfg.unrealisable, T, nTrain, nVal, lr, seed, chunk, hessian, warmStart: cfg.warmStart ?? 'demo', lrSchedule: cfg.lrSchedule ?? 'cosine', nTest, psiInit: cfg.psiInit ? Array.from(cfg.psiInit) : null, validateEvery });
  const ck = loadCheckpoint<ImitationState>(cfg, CHECKPOINT_FORMAT, key);
  if (ck) ({ iteration: start, state: { psi, m, v, uWarm, uValWarm, curve, best } } = ck);
  const checkpoints = checkpointer(cfg, CHECKPOINT_FORMAT, key, 10);
  const runner = chunkRunner(evaluateChunk, new URL('./imitationWorker.ts', import.meta.url), cfg.threads ?? 1);
  const chunksOf = (x0: Float64Array, target: Float64Array, warm: Float64Array | undefined, p: Float64Array, gradient: boolean, solve = TRAIN_SOLVE): ChunkInput[] => {
    const B = x0.length / nx, out: ChunkInput[] = [];
    for (let a = 0; a < B; a += chunk) {
      const b = Math.min(B, a + chunk);
      out.push({ spec, psi: p, x0: x0.slice(a * nx, b * nx), target: target.slice(a * T * nu, b * T * nu), uInit: warm?.slice(a * T * nu, b * T * nu), solve, gradient, hessian });
    }
    return out;
  };
  const learnsDynamics = cfg.learn !== 'cost';
  const paramError = (p: Float64Array) => (learnsDynamics ? identifiableError(spec.task, Array.from(p.subarray(2 * lay.n), Math.exp)) : NaN);
  // like-for-like: each solve set up as the expert's demonstration solve, so the same parameters give
  // the same plans (the swing-ups are non-convex: any other start may reach another local plan)
  const valLoss = async (p: Float64Array) => {
    const outs = await runner.map(chunksOf(xVal, dVal.u, undefined, p, false, DEMO_SOLVE));
    return outs.reduce((a, o) => a + o.loss, 0) / nVal;
  };
  // warm-started: from the learner's previous validation plans, as a deployed controller restarts
  // from its last plan; no demonstration is used
  const valLossWarm = async (p: Float64Array) => {
    const outs = await runner.map(chunksOf(xVal, dVal.u, uValWarm, p, false));
    outs.forEach((o, c) => uValWarm.set(o.u, c * chunk * T * nu));
    return outs.reduce((a, o) => a + o.loss, 0) / nVal;
  };
  const valFromExpert = async (p: Float64Array) => {
    const outs = await runner.map(chunksOf(xVal, dVal.u, dVal.u, p, false));
    return outs.reduce((a, o) => a + o.loss, 0) / nVal;
  };
  // the test starts: like-for-like, and from the expert's plans (NaN without test starts)
  const testLoss = async (p: Float64Array, fromExpert = false) => {
    if (!nTest) return NaN;
    const outs = await runner.map(chunksOf(xTest, dTest.u, fromExpert ? dTest.u : undefined, p, false, fromExpert ? TRAIN_SOLVE : DEMO_SOLVE));
    return outs.reduce((a, o) => a + o.loss, 0) / nTest;
  };
  // model selection: a validated iterate replaces the best only when strictly better (earliest on a tie)
  const consider = (iteration: number, vl: number, p: Float64Array) => {
    if (vl < best.valLoss) best = { iteration, valLoss: vl, psi: Float64Array.from(p) };
  };
  const psiStart = Float64Array.from(psi);
  const save = (iteration: number) => checkpoints.save(iteration, { psi, m, v, uWarm, uValWarm, curve, best });
  let stopped: ImitationResult['stopped'] = 'done';
  try {
    const valLossInitial = curve.length ? curve[0].valLoss : await valLoss(psi);
    const valLossWarmInitial = curve.length ? curve[0].valLossWarm : await valLossWarm(psi);
    const b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const lrAt = (it: number) => ((cfg.lrSchedule ?? 'cosine') === 'constant' ? lr : lr * (0.1 + 0.45 * (1 + Math.cos((Math.PI * it) / Math.max(1, iters)))));
    for (let it = start; it < iters; it++) {
      // a cancelled run leaves a checkpoint of where it stopped (at 0 there is nothing to keep: the
      // initial validation has already moved the validation warm starts)
      if (cfg.signal?.aborted) { if (it > 0) save(it); stopped = 'cancelled'; break; }
      const outs = await runner.map(chunksOf(xTrain, dTrain.u, (cfg.warmStart ?? 'demo') === 'demo' ? dTrain.u : uWarm, psi, true));
      let loss = 0, inexact = 0;
      const g = new Float64Array(lay.size);
      outs.forEach((o, c) => {
        loss += o.loss; inexact += o.inexact;
        for (let k = 0; k < lay.size; k++) g[k] += o.grad[k];
        uWarm.set(o.u, c * chunk * T * nu);
      });
      loss /= nTrain;
      const validate = it === 0 || it % validateEvery === 0;
      const vl = it === 0 ? valLossInitial : validate ? await valLoss(psi) : NaN;
      const vw = it === 0 ? valLossWarmInitial : validate ? await valLossWarm(psi) : NaN;
      curve.push({ iteration: it, trainLoss: loss, valLoss: vl, valLossWarm: vw, paramError: paramError(psi), inexact: inexact / nTrain });
      if (validate) consider(it, vl, psi);
      // Adam on the trained parts, in the goal coordinates φ (goalCoordinates: a step of lr moves
      // every goal by lr in its variable's units, not p_u by lr, i.e. the goal control by lr/q_u)
      const t = it + 1;
      for (let k = 0; k < lay.size; k++) g[k] /= nTrain;
      const phi = goalCoordinates(psi, lay.n), gPhi = gradientInGoalCoordinates(psi, g, lay.n);
      for (let k = 0; k < lay.size; k++) {
        if (!lay.mask[k]) continue;
        m[k] = b1 * m[k] + (1 - b1) * gPhi[k];
        v[k] = b2 * v[k] + (1 - b2) * gPhi[k] * gPhi[k];
        phi[k] -= (lrAt(it) * (m[k] / (1 - b1 ** t))) / (Math.sqrt(v[k] / (1 - b2 ** t)) + eps);
      }
      if (learnsCost) pinCostScale(phi, lay.n, logQMean);
      const next = costCoordinates(phi, lay.n);
      for (let k = 0; k < lay.size; k++) if (lay.mask[k]) psi[k] = next[k];
      cfg.progress?.({ phase: `imitate ${cfg.task}/${cfg.learn}`, done: it + 1, total: iters, info: `train ${loss.toExponential(3)}${validate ? ` val ${vl.toExponential(3)}` : ''}` });
      if (checkpoints.due(it + 1) || it + 1 === iters) save(it + 1);
      if (cfg.stopAfter !== undefined && it + 1 >= cfg.stopAfter && it + 1 < iters) { save(it + 1); stopped = 'interrupted'; break; }
    }
    const valLossFinal = stopped === 'done' ? await valLoss(psi) : NaN;
    const valLossWarmFinal = stopped === 'done' ? await valLossWarm(psi) : NaN;
    // the initial ψ is recomputed (a resumed run no longer holds it in memory)
    const psi0 = start > 0 ? psiFirst() : psiStart;
    const valLossFromExpertInitial = stopped === 'done' ? await valFromExpert(psi0) : NaN;
    const valLossFromExpertFinal = stopped === 'done' ? await valFromExpert(psi) : NaN;
    if (stopped === 'done') consider(iters, valLossFinal, psi);
    const done = stopped === 'done';
    const testLossInitial = done ? await testLoss(psi0) : NaN, testLossFinal = done ? await testLoss(psi) : NaN;
    const testLossSelected = done ? await testLoss(best.psi) : NaN, testLossFromExpertSelected = done ? await testLoss(best.psi, true) : NaN;
    const names = paramNames(spec);
    const learnedOf = (p: ArrayLike<number>) => names.map((name, k) => ({ name, k })).filter(({ k }) => lay.mask[k])
      .map(({ name, k }) => ({ name, value: k < lay.n || k >= 2 * lay.n ? Math.exp(p[k]) : p[k], truth: k < lay.n || k >= 2 * lay.n ? Math.exp(psiTrue[k]) : psiTrue[k] }));
    const learned = learnedOf(psi);
    const selected = { iteration: best.iteration, valLoss: best.valLoss, psi: Array.from(best.psi), paramError: paramError(best.psi), learned: learnedOf(best.psi) };
    // where the checkpoint lives is no part of the run's description (an object, not data)
    const { progress: _p, signal: _s, checkpointStore: _c, ...config } = cfg;
    void _p; void _s; void _c;
    return { config, curve, psi: Array.from(psi), psiTrue: Array.from(psiTrue), learned, valLossInitial, valLossFinal, valLossWarmInitial, valLossWarmFinal, valLossFromExpertInitial, valLossFromExpertFinal, selected, testLossInitial, testLossFinal, testLossSelected, testLossFromExpertSelected, stopped };
  } finally {
    await runner.close();
  }
}
