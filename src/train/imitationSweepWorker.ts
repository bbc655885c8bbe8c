/** piscina worker of the imitation sweep: one whole job (a training run or a baseline) per task (imitationSweep.ts runSweepJob). */
import { runSweepJob, type SweepJobInput } from './imitationSweep.js';

export default function run(input: SweepJobInput) {
  return runSweepJob(input);
}
