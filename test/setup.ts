// Every test file runs with tfjs gradients registered and the deterministic cpu backend
// (wasm is exercised explicitly by the tests that are about backends).
import { tf } from '../src/tf/tf.js';

await tf.setBackend('cpu');
await tf.ready();
