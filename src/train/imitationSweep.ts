/**
 * The imitation experiment as Amos et al. (NeurIPS 2018, §5.2) report it: every learner (cost,
 * dynamics, both), system identification + MPC and the neural-network policy, trained on increasing
 * numbers of demonstrations with several seeds, on the pendulum and the cart-pole, with a realisable
 * and an unrealisable expert. One job = one (task, expert, number of demonstrations, seed, method);
 * jobs run on a piscina pool (every core: a job is a whole training run, the main thread only
 * schedules), each job a pure function of its input, so the report does not depend on the thread
 * count. A checkpoint holds the finished jobs; a resumed sweep runs only the others (also when it asks
 * for more sizes, seeds, tasks or methods than the sweep that wrote it, with the same shared settings). The report's
 * files (JSON, table, figures) are written by imitationExperiment.ts (writeSweepOutputs): the plotting
 * libraries cannot be loaded in worker threads under tsx, so this file, the workers' module, does not
 * import them.
 *
 * Demonstration sets are nested: for one seed, the first 10 of the 30 demonstrations are the 10
 * (sampleStarts draws in sequence), and every size is scored on the same validation set.
 */
import { availableParallelism, loadavg } from 'node:os';
import { LEARNERS, demonstrations, identifiableError, initialParams, isLearner, learnerModel, runStarts, taskSpec, trainImitation, type ImitationTask, type LearnWhat } from './imitation.js';
import { nnBaseline, sysidBaseline } from './baselines.js';
import { chunkRunner } from './pool.js';
import { type CheckpointOptions, type CheckpointStore, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import type { ProgressSink } from './progress.js';
import { DmpcInputError } from '../common/errors.js';

export type SweepMethod = LearnWhat | 'sysid' | 'nn';
export type Expert = 'realisable' | 'unrealisable';
export const METHODS: SweepMethod[] = ['cost', 'dynamics', 'both', 'sysid', 'nn'];

/** Settings shared by every job (all of them change the numbers, so all are in the checkpoint key). */
export interface SweepSettings {
  /** Horizon per task (default: taskSpec's, pendulum 20, cart-pole 25). */
  T: Partial<Record<ImitationTask, number>>;
  nVal: number;
  /** Test starts per run: they score the iterate the validation loss selects (imitation.ts ImitationResult.selected). */
  nTest: number;
  iterations: number;
  lr: number;
  nnEpochs: number;
  /** Validation during training every this many iterations: the candidates of the model selection. */
  validateEvery: number;
}

export interface SweepJob { task: ImitationTask; expert: Expert; nTrain: number; seed: number; method: SweepMethod }

export interface SweepJobResult extends SweepJob {
  /**
   * Like-for-like loss on the test starts of the iterate (learners) or epoch (NN) with the best
   * validation loss; sysid's one fit. The figure the findings compare (the paper's model selection,
   * scored on starts that chose nothing).
   */
  testLoss: number;
  /** Learners and sysid: the same model on the test starts, every solve started at the expert's plan. */
  testLossFromExpert: number | null;
  /** Learners: the selected iteration (0 = the initial parameters, `iterations` = the last); NN: the selected epoch. */
  selected: number | null;
  /**
   * The like-for-like validation loss that selected the model: the learners' selected iterate, the NN's
   * selected epoch, sysid's one fit. It chooses among the learners (chooseLearners), never scores one.
   */
  valLossSelected: number;
  /** Dynamics learners: paramError of the selected iterate. */
  paramErrorSelected: number | null;
  /** Like-for-like validation loss of the last iterate (ImitationResult.valLossFinal; the NN's plan error at its last epoch). */
  valLoss: number;
  /** Learners: the warm-started validation loss (ImitationResult.valLossWarmFinal). */
  valLossWarm: number | null;
  /** Learners and sysid: solves started at the expert's plans. */
  valLossFromExpert: number | null;
  /** Learners: the like-for-like validation loss before training. */
  valLossInitial: number | null;
  /** RMS log-error of the identifiable dynamics combinations (imitation.ts identifiable); null for the cost learner and the NN. */
  paramError: number | null;
  /** Per training iteration (learners of the dynamics). */
  paramErrorCurve: number[] | null;
  /** Cost learners: RMS log-error of q up to the common scale s = geometric mean of q/q*, and max |p − s p*| / s. */
  costError: { q: number; p: number } | null;
  /** Gradient elements that were not exact, summed over the run (learners). */
  inexact: number | null;
  seconds: number;
}

export interface SweepJobInput { job: SweepJob; settings: SweepSettings }

/**
 * Runs one job (in a worker thread, inline with threads = 1, or on a queue worker). `o.checkpointStore`:
 * a learner's run writes a checkpoint after every iteration there and resumes from the one it holds (a
 * queue worker's Redis, so a lost worker costs one iteration; the result is the same bits).
 */
export async function runSweepJob({ job, settings }: SweepJobInput, o: { checkpointStore?: CheckpointStore; signal?: AbortSignal; progress?: ProgressSink } = {}): Promise<SweepJobResult> {
  const t0 = performance.now();
  const unrealisable = job.expert === 'unrealisable', T = settings.T[job.task];
  const none = { valLossWarm: null, valLossFromExpert: null, valLossInitial: null, paramError: null, paramErrorCurve: null, costError: null, inexact: null, testLossFromExpert: null, selected: null, paramErrorSelected: null };
  if (job.method === 'sysid' || job.method === 'nn') {
    const spec = taskSpec(job.task, T, unrealisable);
    const { xTrain, xVal, xTest } = runStarts(spec, job.nTrain, settings.nVal, job.seed, settings.nTest);
    const dTrain = demonstrations(spec, xTrain), dVal = demonstrations(spec, xVal), test = { x0: xTest, u: demonstrations(spec, xTest).u };
    if (job.method === 'sysid') {
      const s = sysidBaseline(spec, initialParams(spec, 'dynamics', job.seed), { x: dTrain.x, u: dTrain.u, B: job.nTrain }, { x0: xVal, u: dVal.u }, test);
      const paramError = identifiableError(job.task, s.theta);
      return { ...job, ...none, testLoss: s.testLoss, testLossFromExpert: s.testLossFromExpert, valLoss: s.valLoss, valLossSelected: s.valLoss, valLossFromExpert: s.valLossFromExpert, paramError, paramErrorSelected: paramError, seconds: (performance.now() - t0) / 1000 };
    }
    const nn = await nnBaseline(spec, { x0: xTrain, u: dTrain.u }, { x0: xVal, u: dVal.u }, { epochs: settings.nnEpochs, seed: job.seed, test });
    return { ...job, ...none, testLoss: nn.testLoss, selected: nn.selected.epoch, valLoss: nn.valLoss, valLossSelected: nn.selected.valLoss, seconds: (performance.now() - t0) / 1000 };
  }
  const r = await trainImitation({
    task: job.task, learn: job.method, unrealisable, T, nTrain: job.nTrain, nVal: settings.nVal, nTest: settings.nTest, iterations: settings.iterations,
    lr: settings.lr, seed: job.seed, threads: 1, validateEvery: settings.validateEvery, signal: o.signal, progress: o.progress,
    ...(o.checkpointStore ? { checkpointStore: o.checkpointStore, resume: true, checkpointEvery: 1 } : {}),
  });
  // a stopped job has no result (its checkpoint holds what it did)
  if (r.stopped !== 'done') throw new Error(`imitation sweep: job ${keyOf(job)} stopped after ${r.curve.length} iterations`);
  const spec = taskSpec(job.task, T, unrealisable), n = learnerModel(job.task).nx + 1;
  let costError: SweepJobResult['costError'] = null;
  if (job.method !== 'dynamics') {
    const logRatio = spec.q.map((q, i) => r.psi[i] - Math.log(q)), mean = logRatio.reduce((a, v) => a + v, 0) / n, s = Math.exp(mean);
    costError = {
      q: Math.sqrt(logRatio.reduce((a, v) => a + (v - mean) ** 2, 0) / n),
      p: Math.max(...spec.p.map((p, i) => Math.abs(r.psi[n + i] - s * p) / s)),
    };
  }
  const learnsDynamics = job.method !== 'cost';
  return {
    ...job, testLoss: r.testLossSelected, testLossFromExpert: r.testLossFromExpertSelected, selected: r.selected.iteration, valLossSelected: r.selected.valLoss,
    paramErrorSelected: learnsDynamics ? r.selected.paramError : null,
    valLoss: r.valLossFinal, valLossWarm: r.valLossWarmFinal, valLossFromExpert: r.valLossFromExpertFinal, valLossInitial: r.valLossInitial,
    paramError: learnsDynamics ? identifiableError(job.task, r.psi.slice(2 * n).map(Math.exp)) : null,
    paramErrorCurve: learnsDynamics ? r.curve.map((c) => c.paramError) : null,
    costError, inexact: r.curve.reduce((a, c) => a + c.inexact * job.nTrain, 0), seconds: (performance.now() - t0) / 1000,
  };
}

export interface SweepConfig extends CheckpointOptions {
  tasks?: ImitationTask[];
  experts?: Expert[];
  methods?: SweepMethod[];
  /** Numbers of training demonstrations (default 10, 30, 100, 300). */
  nTrain?: number[];
  seeds?: number[];
  T?: Partial<Record<ImitationTask, number>>;
  nVal?: number;
  nTest?: number;
  iterations?: number;
  lr?: number;
  nnEpochs?: number;
  validateEvery?: number;
  /** Jobs run at once (default: every core; 1 = inline, no worker threads). */
  threads?: number;
  /**
   * Where a job runs, when not on this machine's threads: e.g. a job queue (`dmpc train imitate
   * --sweep-train … --queue`: one queue job per sweep job, on `dmpc worker`s). `threads` jobs are in
   * flight at once. Each job is a pure function of its input, so the report is the same either way
   * (but for the jobs' `seconds`).
   */
  runJob?: (input: SweepJobInput) => Promise<SweepJobResult>;
  progress?: ProgressSink;
  signal?: AbortSignal;
}

/**
 * Mean and spread over seeds of one (task, expert, method, nTrain) cell; method 'chosen' is the
 * learner chosen per seed on validation (chooseLearners).
 */
export interface SweepCell { task: ImitationTask; expert: Expert; method: SweepMethod | 'chosen'; nTrain: number; seeds: number; mean: number; min: number; max: number; std: number }

/** One seed's imitation learner as a user would pick it: the one with the lowest validation loss. */
export interface ChosenLearner { task: ImitationTask; expert: Expert; nTrain: number; seed: number; method: LearnWhat; valLoss: number; testLoss: number; testLossFromExpert: number | null }

export interface SweepReport {
  format: 'dmpc.report.imitation-sweep/3';
  settings: SweepSettings & { tasks: ImitationTask[]; experts: Expert[]; methods: SweepMethod[]; nTrain: number[]; seeds: number[] };
  jobs: SweepJobResult[];
  /** Like-for-like test loss of the selected model per cell (SweepJobResult.testLoss): what the findings compare. */
  testLoss: SweepCell[];
  /** Per (task, expert, nTrain, seed) where more than one learner ran: the learner chosen on validation (chooseLearners). */
  chosen: ChosenLearner[];
  /** The chosen learners' test loss per cell (method 'chosen'). */
  testLossChosen: SweepCell[];
  /** The selected model's test loss from the expert's plans per cell (learners and sysid). */
  testLossFromExpert: SweepCell[];
  /** Identifiable-parameter error of the selected iterate per cell (dynamics learners and sysid). */
  paramErrorSelected: SweepCell[];
  /** Like-for-like validation loss of the last iterate per cell. */
  valLoss: SweepCell[];
  /** Identifiable-parameter error of the last iterate per cell (dynamics learners and sysid). */
  paramError: SweepCell[];
  /**
   * Validation loss with every solve started at the expert's plan, per cell (learners and sysid): the
   * same-basin comparison. The like-for-like loss also counts the validation starts whose zero-started
   * solve reaches another local swing-up than the expert's; with an expert outside the model class no
   * parameters reproduce the expert's solver path, and a few such switches (each worth hundreds) can
   * decide the mean for every method alike.
   */
  valLossFromExpert: SweepCell[];
  /** The paper's findings on the test loss of the selected models (testLoss, testLossFromExpert, paramErrorSelected). */
  findings: SweepFindings;
  /** The same findings on the last iterates' validation losses (valLoss, valLossFromExpert, paramError). */
  findingsLastIterate: SweepFindings;
  run: { threads: number; wallSeconds: number; jobSeconds: number; loadAverageStart: number[]; loadAverageEnd: number[]; cores: number; resumedJobs: number; stopped: 'done' | 'cancelled' };
}

/**
 * The paper's three findings, checked on the cell means:
 * - dataEfficiency: at the smallest number of demonstrations, every MPC learner's loss is below the network's;
 * - unrealisable: with the unrealisable expert, the dynamics learner's loss is below sysid + MPC's (per number of demonstrations),
 *   judged on the like-for-like loss (`holds`) and on the same-basin loss from the expert's plans (`holdsFromExpert`) — the
 *   paper's own comparison (il_exp.py learns the dynamics only); and the same for the learner chosen on validation (`chosen`);
 * - recovery: with the realisable expert, the dynamics learner's identifiable combinations come within 1 % (RMS log-error ≤ 0.01) at the largest number of demonstrations.
 * Each entry: the cells compared and whether the finding holds there; `null` where the sweep did not run what it needs.
 */
export interface SweepFindings {
  dataEfficiency: { task: ImitationTask; expert: Expert; nTrain: number; method: SweepMethod; learner: number; nn: number; holds: boolean }[] | null;
  unrealisable: {
    /** imitation, holds: the dynamics learner's (null where it did not run). */
    task: ImitationTask; nTrain: number; imitation: number | null; sysid: number; holds: boolean | null;
    /** The same comparison on the validation loss from the expert's plans (null where not computed). */
    imitationFromExpert: number | null; sysidFromExpert: number | null; holdsFromExpert: boolean | null;
    /**
     * Imitation as a user would run it: per seed the learner with the lowest validation loss
     * (chooseLearners; null where fewer than two learners ran), its test loss against sysid's, and
     * how often each learner was chosen.
     */
    chosen: { imitation: number; holds: boolean; methods: Partial<Record<LearnWhat, number>> } | null;
  }[] | null;
  recovery: { task: ImitationTask; nTrain: number; paramError: number; holds: boolean }[] | null;
}

const keyOf = (j: SweepJob) => `${j.task}/${j.expert}/${j.nTrain}/${j.seed}/${j.method}`;
// /2: the learners of the cost move in the goal coordinates (imitation.ts goalCoordinates); a /1 file's
// cost and both jobs came from the learner before that; /3: the unrealisable pendulum is the paper's
// (imitation.ts taskSpec), the cart-pole's friction after the clamp, exact-Hessian solves (imitation/5);
// /4: test starts and model selection (a job's result has testLoss and selected); /5: valLossSelected
export const CHECKPOINT_FORMAT = 'dmpc.checkpoint.imitation-sweep/5';

type CellKey = Pick<SweepCell, 'task' | 'expert' | 'method' | 'nTrain'>;

function cells<J extends CellKey>(jobs: J[], value: (j: J) => number | null): SweepCell[] {
  const groups = new Map<string, { j: J; v: number[] }>();
  for (const j of jobs) {
    const v = value(j);
    if (v === null || !Number.isFinite(v)) continue;
    const k = `${j.task}/${j.expert}/${j.method}/${j.nTrain}`;
    const g = groups.get(k) ?? { j, v: [] };
    g.v.push(v);
    groups.set(k, g);
  }
  return [...groups.values()].map(({ j, v }) => {
    const mean = v.reduce((a, x) => a + x, 0) / v.length;
    const std = Math.sqrt(v.reduce((a, x) => a + (x - mean) ** 2, 0) / Math.max(1, v.length - 1));
    return { task: j.task, expert: j.expert, method: j.method, nTrain: j.nTrain, seeds: v.length, mean, min: Math.min(...v), max: Math.max(...v), std };
  });
}

/**
 * Per (task, expert, nTrain, seed): the learner (cost, dynamics, both) whose selected iterate has the
 * lowest validation loss — the choice a user makes among the policy classes, on validation starts
 * only, so its test loss is as unbiased as each learner's own. Only where at least two learners ran.
 */
export function chooseLearners(jobs: SweepJobResult[]): ChosenLearner[] {
  const groups = new Map<string, SweepJobResult[]>();
  for (const j of jobs) {
    if (!isLearner(j.method)) continue;
    const k = `${j.task}/${j.expert}/${j.nTrain}/${j.seed}`;
    groups.set(k, [...(groups.get(k) ?? []), j]);
  }
  const out: ChosenLearner[] = [];
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    // earliest in METHODS order on a tie, as the selection within a run takes the earliest iterate
    const best = g.reduce((a, j) => (j.valLossSelected < a.valLossSelected ? j : a));
    out.push({ task: best.task, expert: best.expert, nTrain: best.nTrain, seed: best.seed, method: best.method as LearnWhat, valLoss: best.valLossSelected, testLoss: best.testLoss, testLossFromExpert: best.testLossFromExpert });
  }
  return out;
}

/** The chosen learners' test loss per (task, expert, nTrain) cell, as method 'chosen'. */
export const chosenCells = (chosen: ChosenLearner[]): SweepCell[] => cells(chosen.map((c) => ({ ...c, method: 'chosen' as const })), (c) => c.testLoss);

export function sweepFindings(valLoss: SweepCell[], paramError: SweepCell[], fromExpert: SweepCell[] = [], chosen: ChosenLearner[] = []): SweepFindings {
  const get = (cs: SweepCell[], task: string, expert: string, method: string, nTrain: number) => cs.find((c) => c.task === task && c.expert === expert && c.method === method && c.nTrain === nTrain);
  const combos = [...new Set(valLoss.map((c) => `${c.task}/${c.expert}`))].map((s) => s.split('/') as [ImitationTask, Expert]);
  const dataEfficiency: NonNullable<SweepFindings['dataEfficiency']> = [];
  const unrealisable: NonNullable<SweepFindings['unrealisable']> = [];
  const recovery: NonNullable<SweepFindings['recovery']> = [];
  const chosenCell = chosenCells(chosen);
  for (const [task, expert] of combos) {
    const sizes = [...new Set(valLoss.filter((c) => c.task === task && c.expert === expert).map((c) => c.nTrain))].sort((a, b) => a - b);
    const n0 = sizes[0], nn = get(valLoss, task, expert, 'nn', n0);
    if (nn) for (const method of LEARNERS) {
      const l = get(valLoss, task, expert, method, n0);
      if (l) dataEfficiency.push({ task, expert, nTrain: n0, method, learner: l.mean, nn: nn.mean, holds: l.mean < nn.mean });
    }
    for (const nTrain of sizes) {
      const im = get(valLoss, task, expert, 'dynamics', nTrain), sy = get(valLoss, task, expert, 'sysid', nTrain);
      const ch = get(chosenCell, task, expert, 'chosen', nTrain);
      if (expert !== 'unrealisable' || !sy || (!im && !ch)) continue;
      const imE = get(fromExpert, task, expert, 'dynamics', nTrain), syE = get(fromExpert, task, expert, 'sysid', nTrain);
      const methods: Partial<Record<LearnWhat, number>> = {};
      for (const c of chosen) if (c.task === task && c.expert === expert && c.nTrain === nTrain && Number.isFinite(c.testLoss)) methods[c.method] = (methods[c.method] ?? 0) + 1;
      unrealisable.push({
        task, nTrain, imitation: im?.mean ?? null, sysid: sy.mean, holds: im ? im.mean < sy.mean : null,
        imitationFromExpert: imE?.mean ?? null, sysidFromExpert: syE?.mean ?? null, holdsFromExpert: imE && syE ? imE.mean < syE.mean : null,
        chosen: ch ? { imitation: ch.mean, holds: ch.mean < sy.mean, methods } : null,
      });
    }
    const pe = get(paramError, task, expert, 'dynamics', sizes[sizes.length - 1]);
    if (expert === 'realisable' && pe) recovery.push({ task, nTrain: pe.nTrain, paramError: pe.mean, holds: pe.mean <= 0.01 });
  }
  return { dataEfficiency: dataEfficiency.length ? dataEfficiency : null, unrealisable: unrealisable.length ? unrealisable : null, recovery: recovery.length ? recovery : null };
}

function parseList<T extends string>(name: string, values: T[] | undefined, allowed: readonly T[], dflt: T[]): T[] {
  const v = values ?? dflt;
  const bad = v.filter((x) => !allowed.includes(x));
  if (!v.length || bad.length) throw new DmpcInputError('imitation sweep', name, `must be a non-empty list of ${allowed.join(', ')} (got ${v.join(',') || 'nothing'})`);
  return v;
}

export async function runImitationSweep(cfg: SweepConfig): Promise<SweepReport> {
  const t0 = performance.now(), loadStart = loadavg();
  const tasks = parseList('tasks', cfg.tasks, ['pendulum', 'cartpole'], ['pendulum', 'cartpole']);
  const experts = parseList('experts', cfg.experts, ['realisable', 'unrealisable'], ['realisable', 'unrealisable']);
  const methods = [...parseList('methods', cfg.methods, METHODS, METHODS)];
  const nTrain = cfg.nTrain ?? [10, 30, 100, 300], seeds = cfg.seeds ?? [0, 1, 2];
  if (!nTrain.length || !nTrain.every((n) => Number.isInteger(n) && n >= 1)) throw new DmpcInputError('imitation sweep', 'nTrain', `must be positive integers (got ${nTrain.join(',')})`);
  if (!seeds.length || !seeds.every((s) => Number.isInteger(s) && s >= 0)) throw new DmpcInputError('imitation sweep', 'seeds', `must be non-negative integers (got ${seeds.join(',')})`);
  const settings: SweepSettings = {
    T: Object.fromEntries(tasks.map((t) => [t, cfg.T?.[t] ?? taskSpec(t).T])), nVal: cfg.nVal ?? 32, nTest: cfg.nTest ?? 32, iterations: cfg.iterations ?? 100,
    lr: cfg.lr ?? 0.05, nnEpochs: cfg.nnEpochs ?? 500, validateEvery: cfg.validateEvery ?? 5,
  };
  const all: SweepJob[] = [];
  for (const task of tasks) for (const expert of experts) for (const n of nTrain) for (const seed of seeds) for (const method of methods) all.push({ task, expert, nTrain: n, seed, method });
  // the key holds the settings every job shares; the jobs themselves are named by keyOf, so a sweep
  // extended by more sizes, seeds, tasks or methods resumes from the jobs it shares with the old one
  const key = JSON.stringify(settings);
  const wanted = new Set(all.map(keyOf));
  const done = new Map<string, SweepJobResult>();
  const ck = loadCheckpoint<{ jobs: SweepJobResult[] }>(cfg, CHECKPOINT_FORMAT, key);
  for (const j of ck?.state.jobs ?? []) if (wanted.has(keyOf(j))) done.set(keyOf(j), j);
  const resumedJobs = done.size;
  // the longest jobs first (learners on many demonstrations), so no core idles at the end
  const cost = (j: SweepJob) => j.nTrain * (j.method === 'sysid' || j.method === 'nn' ? 1 : settings.iterations) * (settings.T[j.task] ?? 20) * (j.task === 'cartpole' ? 3 : 1);
  const todo = all.filter((j) => !done.has(keyOf(j))).sort((a, b) => cost(b) - cost(a));
  const threads = Math.max(1, Math.floor(cfg.threads ?? availableParallelism()));
  const runner = cfg.runJob ? null : chunkRunner(runSweepJob, new URL('./imitationSweepWorker.ts', import.meta.url), threads);
  const run = cfg.runJob ?? (async (input: SweepJobInput) => (await Promise.all(await runner!.map([input])))[0]);
  // jobs of the old checkpoint that this sweep does not ask for are kept in the file
  const kept = (ck?.state.jobs ?? []).filter((j) => !wanted.has(keyOf(j)));
  const save = () => { if (cfg.checkpoint) saveCheckpoint(cfg.checkpoint, CHECKPOINT_FORMAT, key, done.size, { jobs: [...kept, ...done.values()] }); };
  let stopped: SweepReport['run']['stopped'] = 'done';
  try {
    // keep `threads` jobs in flight; a cancelled sweep starts no new job and keeps the finished ones
    let next = 0;
    const lane = async () => {
      while (next < todo.length) {
        if (cfg.signal?.aborted) { stopped = 'cancelled'; return; }
        const job = todo[next++];
        const r = await run({ job, settings });
        done.set(keyOf(job), r);
        save();
        cfg.progress?.({ phase: 'imitation sweep', done: done.size, total: all.length, info: `${keyOf(job)} test ${r.testLoss.toExponential(2)} (${r.seconds.toFixed(0)} s)` });
      }
    };
    await Promise.all(Array.from({ length: Math.min(threads, Math.max(1, todo.length)) }, lane));
  } finally {
    await runner?.close();
  }
  const jobs = all.map((j) => done.get(keyOf(j))).filter((j): j is SweepJobResult => !!j);
  const valLoss = cells(jobs, (j) => j.valLoss), paramError = cells(jobs, (j) => j.paramError), valLossFromExpert = cells(jobs, (j) => j.valLossFromExpert);
  const testLoss = cells(jobs, (j) => j.testLoss), testLossFromExpert = cells(jobs, (j) => j.testLossFromExpert), paramErrorSelected = cells(jobs, (j) => j.paramErrorSelected);
  const chosen = chooseLearners(jobs), testLossChosen = chosenCells(chosen);
  return {
    format: 'dmpc.report.imitation-sweep/3', settings: { ...settings, tasks, experts, methods, nTrain, seeds }, jobs, testLoss, chosen, testLossChosen, testLossFromExpert, paramErrorSelected,
    valLoss, paramError, valLossFromExpert,
    findings: sweepFindings(testLoss, paramErrorSelected, testLossFromExpert, chosen),
    findingsLastIterate: sweepFindings(valLoss, paramError, valLossFromExpert),
    run: {
      threads, wallSeconds: (performance.now() - t0) / 1000, jobSeconds: jobs.reduce((a, j) => a + j.seconds, 0), loadAverageStart: loadStart,
      loadAverageEnd: loadavg(), cores: availableParallelism(), resumedJobs, stopped,
    },
  };
}

export const METHOD_LABEL: Record<SweepMethod, string> = { cost: 'MPC, learn cost', dynamics: 'MPC, learn dynamics', both: 'MPC, learn both', sysid: 'sysid + MPC', nn: 'NN policy' };
export const CHOSEN_LABEL = 'MPC, learner chosen on validation';
export const cellLabel = (m: SweepCell['method']) => (m === 'chosen' ? CHOSEN_LABEL : METHOD_LABEL[m]);
const fmt = (c: SweepCell | undefined) => (c ? `${c.mean.toPrecision(2)} [${c.min.toPrecision(2)}, ${c.max.toPrecision(2)}]` : '—');

/**
 * Markdown table: a loss per cell, mean [min, max] over seeds, per task, expert and number of
 * demonstrations. `which`: 'test' (default) the selected models' like-for-like test loss;
 * 'testFromExpert' the same from the expert's plans (the NN, which has no solve, has none);
 * 'lastIterate' the last iterates' like-for-like validation loss; 'fromExpert' theirs from the expert's plans.
 */
export function formatSweepTable(r: SweepReport, which: 'test' | 'testFromExpert' | 'lastIterate' | 'fromExpert' = 'test'): string {
  const s = r.settings;
  const cs = { test: [...r.testLoss, ...r.testLossChosen], testFromExpert: r.testLossFromExpert, lastIterate: r.valLoss, fromExpert: r.valLossFromExpert }[which] ?? [];
  const methods: SweepCell['method'][] = which === 'fromExpert' || which === 'testFromExpert' ? s.methods.filter((m) => m !== 'nn') : [...s.methods];
  if (which === 'test' && r.testLossChosen.length) methods.push('chosen');
  const lines = [`| task | expert | demos | ${methods.map(cellLabel).join(' | ')} |`, `| --- | --- | --- | ${methods.map(() => '---').join(' | ')} |`];
  for (const task of s.tasks) for (const expert of s.experts) for (const n of s.nTrain) {
    lines.push(`| ${task} | ${expert} | ${n} | ${methods.map((m) => fmt(cs.find((c) => c.task === task && c.expert === expert && c.method === m && c.nTrain === n))).join(' | ')} |`);
  }
  return lines.join('\n');
}

export function formatFindings(f: SweepFindings): string {
  const yes = (b: boolean) => (b ? 'holds' : 'does NOT hold');
  const out: string[] = [];
  out.push(f.dataEfficiency ? `1. MPC learners beat the NN at the fewest demonstrations: ${f.dataEfficiency.map((d) => `${d.task}/${d.expert}/${d.method} ${d.learner.toPrecision(2)} vs ${d.nn.toPrecision(2)} ${yes(d.holds)}`).join('; ')}` : '1. (not run: needs the learners and the NN)');
  const sameBasin = (d: NonNullable<SweepFindings['unrealisable']>[number]) => (d.holdsFromExpert === null ? '' : `, from the expert's plans ${d.imitationFromExpert!.toPrecision(2)} vs ${d.sysidFromExpert!.toPrecision(2)} ${yes(d.holdsFromExpert)}`);
  const dyn = f.unrealisable?.filter((d) => d.imitation !== null) ?? [];
  out.push(dyn.length ? `2. unrealisable expert, imitation (dynamics) beats sysid + MPC (like-for-like; from the expert's plans): ${dyn.map((d) => `${d.task} n=${d.nTrain} ${d.imitation!.toPrecision(2)} vs ${d.sysid.toPrecision(2)} ${yes(d.holds!)}${sameBasin(d)}`).join('; ')}` : '2. (not run: needs the unrealisable expert, the dynamics learner and sysid)');
  const chosen = f.unrealisable?.filter((d) => d.chosen) ?? [];
  const counts = (m: Partial<Record<LearnWhat, number>>) => Object.entries(m).map(([k, n]) => `${k} ${n}`).join(', ');
  if (chosen.length) out.push(`2'. unrealisable expert, imitation (the learner chosen on validation per seed) beats sysid + MPC: ${chosen.map((d) => `${d.task} n=${d.nTrain} ${d.chosen!.imitation.toPrecision(2)} vs ${d.sysid.toPrecision(2)} ${yes(d.chosen!.holds)} (chosen: ${counts(d.chosen!.methods)})`).join('; ')}`);
  out.push(f.recovery ? `3. realisable expert, dynamics recovered within 1 %: ${f.recovery.map((d) => `${d.task} n=${d.nTrain} RMS log-error ${d.paramError.toPrecision(2)} ${yes(d.holds)}`).join('; ')}` : '3. (not run: needs the realisable expert and the dynamics learner)');
  return out.join('\n');
}
