/** `dmpc serve solve|simulate`: the API's documents offline, validated by the same schemas. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { command } from '../../src/cli/commands/serve.js';
import { SimulateResponseSchema, SolveResponseSchema } from '../../server/schemas.js';

const dir = mkdtempSync(join(tmpdir(), 'dmpc-serve-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, doc: unknown) => { const p = join(dir, name); writeFileSync(p, typeof doc === 'string' ? doc : JSON.stringify(doc)); return p; };

it('serve solve writes the POST /controllers/:id/solve document', async () => {
  const out = join(dir, 'plan.json');
  expect(await command.run(['solve', '--in', file('s.json', { state: [0, 0, 3.0, 0] }), '--out', out])).toBe(0);
  const doc = SolveResponseSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
  expect(doc.status).toBe('optimal');
  expect(doc.plan.x[0]).toEqual([0, 0, 3.0, 0]);
  expect(doc.u0[0]).toBeGreaterThan(0); // pushes the cart under the pole, which leans toward +p
});

it('serve simulate writes the POST /simulate document, with another configuration', async () => {
  const out = join(dir, 'sim.json');
  expect(await command.run(['simulate', '--config', 'controllers/pendulum.json', '--in', file('m.json', { initialState: [2.8, 0], steps: 150 }), '--out', out])).toBe(0);
  const doc = SimulateResponseSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
  expect(doc.steps).toBe(150);
  expect(Math.abs(doc.finalState[0] - Math.PI)).toBeLessThan(0.01);
});

it('invalid documents fail with the issue list', async () => {
  await expect(command.run(['solve', '--in', file('bad.json', { state: [0, 'x'] }), '--out', join(dir, 'x.json')])).rejects.toThrow(/state\.1/);
  await expect(command.run(['solve', '--in', file('bad2.json', { state: [0, 0] }), '--out', join(dir, 'x.json')])).rejects.toThrow(/state: has 2 entries, the model has 4 states/);
  await expect(command.run(['simulate', '--in', file('bad3.json', { initialState: [0, 0, 3, 0], steps: 0 }), '--out', join(dir, 'x.json')])).rejects.toThrow(/steps/);
});
