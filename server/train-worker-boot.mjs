// Bootstrap of the identification worker thread: registers tsx's loader in this thread, then runs
// the TypeScript worker (a worker's execArgv cannot carry `--import tsx` on Node 20).
import { register } from 'tsx/esm/api';

register();
await import('./train-worker.ts');
