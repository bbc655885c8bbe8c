/** piscina worker of the tuning job: one chunk of demonstration samples (tune.ts evaluateTuneChunk). */
import { evaluateTuneChunk, type TuneChunkInput } from './tune.js';

export default function run(input: TuneChunkInput) {
  return evaluateTuneChunk(input);
}
