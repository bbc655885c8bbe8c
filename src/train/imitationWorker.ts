/** piscina worker of the imitation job: one chunk of demonstrations per task (imitation.ts evaluateChunk). */
import { evaluateChunk, type ChunkInput } from './imitation.js';

export default function run(input: ChunkInput) {
  return evaluateChunk(input);
}
