/** piscina worker of system identification: one chunk of shooting segments (sysid.ts segmentWork). */
import { segmentWork, type SegWorkInput } from './sysid.js';

export default function run(input: SegWorkInput) {
  return segmentWork(input);
}
