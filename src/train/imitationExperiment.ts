/**
 * `dmpc train imitate`: the learner (trainImitation) and both baselines on the same demonstrations,
 * with a comparison table, learning curves (JSON + SVG/PNG) and the learned parameters; and the files
 * of the sample-efficiency sweep (imitationSweep.ts).
 */
import { writeFileSync } from 'node:fs';
import { demonstrations, initialParams, runStarts, taskSpec, trainImitation, type ImitationConfig, type ImitationResult } from './imitation.js';
import { nnBaseline, sysidBaseline } from './baselines.js';
import { bandChart, lineChart, writePlot } from './plots.js';
import { CHOSEN_LABEL, METHOD_LABEL, cellLabel, formatFindings, formatSweepTable, type SweepCell, type SweepJobResult, type SweepReport } from './imitationSweep.js';

export interface ImitationExperiment {
  format: 'dmpc.report.imitation/3';
  learner: ImitationResult;
  baselines: {
    sysid: { theta: number[]; valLoss: number; valLossFromExpert: number; testLoss: number; testLossFromExpert: number } | null;
    nn: { valLoss: number; curve: { epoch: number; trainLoss: number; valLoss: number }[]; selected: { epoch: number; valLoss: number }; testLoss: number } | null;
  };
  /**
   * valLoss: like-for-like (validation solves set up as the expert's demonstration solves, see
   * ImitationResult.valLossFinal); valLossWarm: warm-started from the learner's previous validation
   * plans (the learner only); valLossFromExpert: solves started at the expert's plans; all three of
   * the last iterate (epoch). testLoss: like-for-like on the separate test starts, of the iterate
   * (epoch) with the best validation loss (model selection; ImitationResult.selected), the figure the
   * methods are compared by.
   */
  table: { method: string; valLoss: number; valLossWarm: number | null; valLossFromExpert: number | null; testLoss: number | null }[];
}

export type ImitationExperimentConfig = ImitationConfig & { baselines?: boolean; nnEpochs?: number };

export async function runImitationExperiment(cfg: ImitationExperimentConfig): Promise<ImitationExperiment> {
  return completeImitationExperiment(cfg, await trainImitation(cfg));
}

/**
 * The experiment around a learner's run: the baselines on the same demonstrations and the table. The
 * learner may have been trained elsewhere (a queue worker: `dmpc train imitate --queue`); the baselines
 * are pure functions of `cfg`, so they give the same numbers here.
 */
export async function completeImitationExperiment(cfg: ImitationExperimentConfig, learner: ImitationResult): Promise<ImitationExperiment> {
  const table: ImitationExperiment['table'] = [
    { method: 'initial learner (MPC, wrong parameters)', valLoss: learner.valLossInitial, valLossWarm: learner.valLossWarmInitial, valLossFromExpert: learner.valLossFromExpertInitial, testLoss: learner.testLossInitial },
    { method: `MPC learned by imitation (${cfg.learn})`, valLoss: learner.valLossFinal, valLossWarm: learner.valLossWarmFinal, valLossFromExpert: learner.valLossFromExpertFinal, testLoss: learner.testLossSelected },
  ];
  let sysid: ImitationExperiment['baselines']['sysid'] = null, nn: ImitationExperiment['baselines']['nn'] = null;
  if (cfg.baselines !== false && learner.stopped === 'done') {
    const spec = taskSpec(cfg.task, cfg.T, cfg.unrealisable);
    const seed = cfg.seed ?? 0, nTrain = cfg.nTrain ?? 32, nVal = cfg.nVal ?? 32, nTest = cfg.nTest ?? 32;
    const { xTrain, xVal, xTest } = runStarts(spec, nTrain, nVal, seed, nTest);
    const dTrain = demonstrations(spec, xTrain), dVal = demonstrations(spec, xVal), test = { x0: xTest, u: demonstrations(spec, xTest).u };
    const psi0 = initialParams(spec, cfg.learn, seed);
    sysid = sysidBaseline(spec, psi0, { x: dTrain.x, u: dTrain.u, B: nTrain }, { x0: xVal, u: dVal.u }, test);
    table.push({ method: cfg.learn === 'cost' ? 'sysid + MPC (dynamics were already true; cost stays initial)' : 'sysid on transitions + MPC', valLoss: sysid.valLoss, valLossWarm: null, valLossFromExpert: sysid.valLossFromExpert, testLoss: sysid.testLoss });
    nn = await nnBaseline(spec, { x0: xTrain, u: dTrain.u }, { x0: xVal, u: dVal.u }, { epochs: cfg.nnEpochs ?? 500, seed, test });
    table.push({ method: 'neural-network policy (tfjs MLP)', valLoss: nn.valLoss, valLossWarm: null, valLossFromExpert: null, testLoss: nn.testLoss });
  }
  return { format: 'dmpc.report.imitation/3', learner, baselines: { sysid, nn }, table };
}

export function formatTable(ex: ImitationExperiment): string {
  const w = Math.max(...ex.table.map((r) => r.method.length));
  const cell = (v: number | null) => (v === null || !Number.isFinite(v) ? '—' : v.toExponential(3)).padStart(13);
  const sel = [`learner iteration ${ex.learner.selected.iteration} (val. ${ex.learner.selected.valLoss.toExponential(3)})`, ex.baselines.nn ? `NN epoch ${ex.baselines.nn.selected.epoch} (val. ${ex.baselines.nn.selected.valLoss.toExponential(3)})` : null].filter(Boolean).join(', ');
  return [`${'method'.padEnd(w)}  ${'val. loss'.padStart(13)}${'warm-started'.padStart(13)}${'from expert'.padStart(13)}${'test (sel.)'.padStart(13)}`,
    ...ex.table.map((r) => `${r.method.padEnd(w)}  ${cell(r.valLoss)}${cell(r.valLossWarm)}${cell(r.valLossFromExpert)}${cell(r.testLoss)}`),
    'val. loss: solves set up as the expert\'s (like-for-like); warm-started: from the learner\'s previous plans; from expert: started at the expert\'s plans (all of the last iterate)',
    `test (sel.): like-for-like on separate test starts, of the iterate with the best validation loss: ${sel}`].join('\n');
}

/** Writes `<base>.json`, `<base>.curves.{svg,png}`. */
export async function writeImitationOutputs(base: string, ex: ImitationExperiment): Promise<string[]> {
  writeFileSync(`${base}.json`, JSON.stringify(ex, null, 1) + '\n');
  const rows: Record<string, number | string>[] = [];
  for (const c of ex.learner.curve) {
    rows.push({ iteration: c.iteration, loss: Math.max(c.trainLoss, 1e-12), series: 'MPC learner: train' });
    if (Number.isFinite(c.valLoss)) rows.push({ iteration: c.iteration, loss: Math.max(c.valLoss, 1e-12), series: 'MPC learner: validation (like-for-like)' });
    if (Number.isFinite(c.valLossWarm)) rows.push({ iteration: c.iteration, loss: Math.max(c.valLossWarm, 1e-12), series: 'MPC learner: validation (warm-started)' });
  }
  if (ex.baselines.sysid) for (const c of ex.learner.curve) rows.push({ iteration: c.iteration, loss: Math.max(ex.baselines.sysid.valLoss, 1e-12), series: 'sysid + MPC: validation' });
  if (ex.baselines.nn) {
    const iters = Math.max(1, ex.learner.curve.length - 1), epochs = ex.baselines.nn.curve[ex.baselines.nn.curve.length - 1].epoch || 1;
    for (const c of ex.baselines.nn.curve) rows.push({ iteration: (c.epoch / epochs) * iters, loss: Math.max(c.valLoss, 1e-12), series: `NN policy: validation (x-axis: ${epochs} epochs)` });
  }
  const cfg = ex.learner.config;
  return [`${base}.json`, ...await writePlot(`${base}.curves`, lineChart({
    title: `imitation ${cfg.task}, learn ${cfg.learn}${cfg.unrealisable ? ', unrealisable expert' : ''}`, x: 'iteration', y: 'loss', logY: true, rows,
  }))];
}

/** Writes BASE.json, BASE.md (table and findings), BASE.sample-efficiency.{svg,png}, BASE.param-error.{svg,png}. */
export async function writeSweepOutputs(base: string, r: SweepReport, command?: string): Promise<string[]> {
  writeFileSync(`${base}.json`, JSON.stringify(r, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1) + '\n');
  const md = [command ? `Command: \`${command}\`\n` : '',
    `Like-for-like imitation loss on ${r.settings.nTest} test starts of the model with the best validation loss (${r.settings.nVal} validation starts, every ${r.settings.validateEvery} iterations; the NN every 10 epochs), mean [min, max] over seeds ${r.settings.seeds.join(', ')}:\n`, formatSweepTable(r), '',
    ...(r.testLossChosen.length ? [`"${CHOSEN_LABEL}": per seed, the learner (cost, dynamics or both) whose selected iterate has the lowest validation loss, scored on the test starts.\n`] : []),
    'The same models on the test starts, every solve started at the expert\'s plan (same-basin; the NN has no solve):\n', formatSweepTable(r, 'testFromExpert'), '',
    formatFindings(r.findings), '',
    'The last iterate (epoch) instead, like-for-like validation loss:\n', formatSweepTable(r, 'lastIterate'), '',
    'The last iterate, every validation solve started at the expert\'s plan:\n', formatSweepTable(r, 'fromExpert'), '',
    'Findings on the last iterates\' validation losses:\n', formatFindings(r.findingsLastIterate), '', `Wall time ${r.run.wallSeconds.toFixed(0)} s on ${r.run.threads} worker thread(s) (${r.run.cores} cores; load average ${r.run.loadAverageStart.map((x) => x.toFixed(1)).join(' ')} at the start, ${r.run.loadAverageEnd.map((x) => x.toFixed(1)).join(' ')} at the end); ${r.run.jobSeconds.toFixed(0)} s of job time${r.run.resumedJobs ? `, ${r.run.resumedJobs} jobs from the checkpoint` : ''}.`].join('\n');
  writeFileSync(`${base}.md`, md + '\n');
  const label = (c: SweepCell) => cellLabel(c.method);
  const eff = await writePlot(`${base}.sample-efficiency`, bandChart({
    title: 'imitation: test loss of the best-validation model vs number of demonstrations (mean, band: min–max over seeds)', x: 'demonstrations', yTitle: 'test imitation loss', logX: true, logY: true,
    row: 'expert', column: 'task',
    rows: [...r.testLoss, ...r.testLossChosen].map((c) => ({ demonstrations: c.nTrain, mean: Math.max(c.mean, 1e-14), lo: Math.max(c.min, 1e-14), hi: Math.max(c.max, 1e-14), series: label(c), task: c.task, expert: c.expert })),
  }));
  // parameter error per iteration: mean and spread over seeds of each learner of the dynamics, per number of demonstrations
  const rows: Record<string, number | string>[] = [];
  const groups = new Map<string, SweepJobResult[]>();
  for (const j of r.jobs) if (j.paramErrorCurve) groups.set(`${j.task}/${j.expert}/${j.method}/${j.nTrain}`, [...(groups.get(`${j.task}/${j.expert}/${j.method}/${j.nTrain}`) ?? []), j]);
  for (const js of groups.values()) {
    const j0 = js[0], len = Math.min(...js.map((j) => j.paramErrorCurve!.length));
    for (let it = 0; it < len; it++) {
      const v = js.map((j) => Math.max(j.paramErrorCurve![it], 1e-14));
      rows.push({ iteration: it, mean: v.reduce((a, x) => a + x, 0) / v.length, lo: Math.min(...v), hi: Math.max(...v), series: `${METHOD_LABEL[j0.method]}, ${j0.nTrain} demos`, task: j0.task, expert: j0.expert });
    }
  }
  const pe = rows.length ? await writePlot(`${base}.param-error`, bandChart({
    title: 'learned dynamics: RMS log-error of the identifiable combinations', x: 'iteration', yTitle: 'parameter error', logY: true, row: 'expert', column: 'task', rows,
  })) : [];
  return [`${base}.json`, `${base}.md`, ...eff, ...pe];
}
