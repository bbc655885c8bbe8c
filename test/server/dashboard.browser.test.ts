/**
 * The dashboard in a real browser: headless Chromium from Debian's `chromium` package driven by
 * playwright-core (../shared/notes/tooling.md), against a server whose loop runs on the exact ODE
 * plant. Checked as a user would meet it: the token link (also in a tab already open), the robot
 * drawing moving, staged edits with a what-if run and one version per apply, a stale edit re-based
 * instead of overwriting, rollback behind a confirmation with its diff, the e-stop, the jobs panel's
 * learning curve, plots with axes at 1500 and 800 px, and the API page without literal backticks.
 * Screenshots go to test-artifacts/.
 *
 * Needs /usr/bin/chromium (apt-get install -y chromium) or CHROMIUM_PATH; without it the test fails.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadControllerConfig } from '../../controllers/schema.js';
import { AUTH, TOKEN, call, testServer } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** The narrowest a plot may get at an 800 px wide window (the issue: plots shrank to ~40 px). */
const MIN_PLOT_PX = 300;
let srv: Awaited<ReturnType<typeof testServer>>;
let browser: BrowserContext;
const profile = mkdtempSync(join(tmpdir(), 'dmpc-chromium-'));

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium package (apt-get install -y chromium) or set CHROMIUM_PATH`);
  srv = await testServer({ run: true, controllers: { pendulum: loadControllerConfig('controllers/pendulum.json'), diffdrive: loadControllerConfig('controllers/diffdrive.json') } });
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1500, height: 1000 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  mkdirSync('test-artifacts', { recursive: true });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await srv?.cleanup();
  rmSync(profile, { recursive: true, force: true });
});

const history = async () => (await call(srv, 'socket', 'GET', '/controllers/default/params/history')).json;

async function openDashboard(errors: string[]): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`${srv.url}/dashboard#token=${TOKEN}`);
  expect(new URL(page.url()).hash).toBe(''); // the token leaves the address bar
  await page.waitForFunction(() => (document.querySelector('#plot-u-0 .pred')?.getAttribute('points') ?? '').split(' ').length >= 20, undefined, { timeout: 20_000 });
  return page;
}

it('staged edits: what-if before applying, one version per apply, stale edit re-based, rollback asks first', async () => {
  const errors: string[] = [];
  const page = await openDashboard(errors);
  const writes: string[] = []; // method and status of every write the page makes
  page.on('response', (r) => { if (r.request().method() !== 'GET') writes.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`); });
  await page.waitForSelector('#plots[data-version="1"]');
  for (const id of ['plot-x-0', 'plot-x-1', 'plot-x-2', 'plot-x-3', 'plot-u-0', 'plot-solve']) expect(await page.locator(`#${id}`).count(), id).toBe(1);
  expect(await page.locator('[data-stat="status"]').textContent()).toBe('optimal');

  // the robot drawing moves with the telemetry: the cart-pole's pose (p, q) and its transform change
  const pose0 = await page.locator('#robot-body').getAttribute('data-pose');
  const tf0 = await page.locator('#robot-body').getAttribute('transform');
  await page.waitForFunction((p) => document.querySelector('#robot-body')?.getAttribute('data-pose') !== p, pose0, { timeout: 5000 });
  await page.waitForFunction((t) => document.querySelector('#robot-body')?.getAttribute('transform') !== t, tf0, { timeout: 5000 });
  expect((await page.locator('#robot .predpath').getAttribute('points'))!.split(' ').length).toBeGreaterThanOrEqual(20);

  // plots have a time axis with ticks, a unit and a legend; the solve-time axis starts at 0
  expect(await page.locator('#plot-x-0 text.xtick').count()).toBeGreaterThanOrEqual(3);
  expect(await page.locator('#plot-x-0 text.xlabel').textContent()).toBe('simulated time [s]');
  expect(await page.locator('#plot-x-0').evaluate((s) => s.closest('figure')!.querySelector('.ptitle')!.textContent)).toBe('p (state 0) [m]');
  const legend = (id: string) => page.locator(`#${id}`).evaluate((s) => [...s.closest('figure')!.querySelectorAll<HTMLElement>('.legend .key')].filter((k) => !k.hidden).map((k) => k.textContent));
  expect(await legend('plot-x-0')).toEqual(['measured', 'predicted', 'reference', 'bounds']); // the cart position has state bounds
  expect(await legend('plot-x-1')).toEqual(['measured', 'predicted', 'reference']); // the cart speed has none
  expect(await legend('plot-solve')).toEqual(['solve time', 'control period']); // no budget set
  expect(Number(await page.locator('#plot-solve').getAttribute('data-ymin'))).toBeGreaterThanOrEqual(0);
  // the cart reference follows the scenario's goal (it is not one flat line over the window)
  await page.waitForFunction(() => new Set((document.querySelector('#plot-x-0 .ref')?.getAttribute('points') ?? '').split(' ').map((p) => p.split(',')[1])).size >= 2, undefined, { timeout: 15_000 });
  await page.screenshot({ path: 'test-artifacts/dashboard-before.png' });

  // two edits are staged: the R slider (a click at 85 % of its track, log10 range −4…4) and Q[0]
  const slider = page.locator('#w-R-0');
  const box = (await slider.boundingBox())!;
  await page.mouse.click(box.x + 0.85 * box.width, box.y + box.height / 2);
  const R = Number(await page.locator('#n-R-0').inputValue());
  expect(R).toBeGreaterThan(100);
  expect(R).toBeLessThan(1e4);
  await page.locator('#n-Q-0').fill('3');
  await page.locator('#n-Q-0').press('Enter');
  await page.locator('#n-Q-0').blur();
  await page.waitForSelector('#staged-diff tr[data-path="cost.Q.0"]');
  expect(await page.locator('#staged-diff tbody tr').count()).toBe(2);
  expect(await page.locator('#staged-diff tr[data-path="cost.R.0"] td.to').textContent()).toBe(String(R));
  expect(await page.locator('#staged-badge').isVisible()).toBe(true);
  expect(await page.locator('#n-Q-0').getAttribute('class')).toContain('changed');
  expect((await history()).current).toBe(1); // staged only

  // what-if: /simulate with the staged edit, before anything is applied; the page shows the API's figures
  await page.locator('#whatif-steps').fill('120');
  await page.locator('#whatif-run').click();
  await page.waitForSelector('[data-whatif="staged-cost"]', { timeout: 20_000 });
  const x0 = (await page.locator('#whatif-x0').inputValue()).split(',').map(Number);
  const direct = (await call(srv, 'socket', 'POST', '/simulate', { controller: 'default', initialState: x0, steps: 120, params: { cost: { R: [R], Q: [3, 0.1, 10, 0.1] } } })).json;
  // the same deterministic run (ODE plant, cold-started solver): the same cost, and the shown figure is it rounded
  const shown = Number(await page.locator('[data-whatif="staged-cost"]').getAttribute('data-value'));
  expect(Math.abs(shown - direct.cost.total) / direct.cost.total).toBeLessThan(1e-9);
  const text = Number(await page.locator('[data-whatif="staged-cost"]').textContent());
  expect(Math.abs(text - direct.cost.total) / direct.cost.total).toBeLessThan(5e-3);
  expect(await page.locator('#plot-whatif polyline.alt').getAttribute('points')).not.toBe('');
  expect((await history()).current).toBe(1);

  // Apply: exactly one new version holding both edits and the note
  await page.locator('#note').fill('slower, stiffer');
  await page.locator('#apply').click();
  await page.waitForSelector('#history tbody tr[data-version="2"].current');
  await page.waitForTimeout(500);
  const h2 = await history();
  expect(h2.current).toBe(2);
  expect(h2.versions.length).toBe(2);
  expect(h2.versions[0]).toMatchObject({ version: 2, kind: 'patch', note: 'slower, stiffer', what: { cost: { R: [R], Q: [3, 0.1, 10, 0.1] } } });
  expect(h2.versions[0].who).toMatch(/^dashboard @ 127\.0\.0\.1$/);
  expect(srv.runtimes.get('default')!.params.cost.R).toEqual([R]);
  await page.waitForSelector('#plot-u-0 .pred[data-version="2"]', { timeout: 10_000, state: 'attached' });
  expect(await page.locator('#version').textContent()).toBe('v2');
  expect(await page.locator('#apply').isDisabled()).toBe(true);
  await page.screenshot({ path: 'test-artifacts/dashboard.png' });

  // a stale edit: staged on v2, meanwhile someone else makes v3 → Apply stores nothing, shows their change, keeps ours on top
  await page.locator('#n-Qf-0').fill('7');
  await page.locator('#n-Qf-0').press('Enter');
  const other = await call(srv, 'socket', 'PATCH', '/controllers/default/params', { cost: { Q: [5, 0.1, 10, 0.1] } }, { ...AUTH, 'x-dmpc-user': 'other' });
  expect(other.status).toBe(200);
  writes.length = 0;
  await page.locator('#apply').click();
  await expect.poll(async () => page.locator('#notice').textContent(), { timeout: 5000 }).toMatch(/v3 was made by other @ 127\.0\.0\.1 after your edit started from v2/);
  expect(await page.locator('#notice tr[data-path="cost.Q.0"] td.to').textContent()).toBe('5');
  expect((await history()).current).toBe(3);
  expect(writes).toEqual(['PATCH /controllers/default/params 412']); // the server refused the stale If-Match
  expect(await page.locator('#staged-diff tr[data-path="cost.Qf.0"] td.to').textContent()).toBe('7');
  await page.screenshot({ path: 'test-artifacts/dashboard-stale-edit.png' });
  await page.locator('#apply').click();
  await page.waitForSelector('#history tbody tr[data-version="4"].current');
  const p4 = srv.runtimes.get('default')!.params.cost;
  expect(p4.Q[0]).toBe(5); // the other writer's change survives
  expect(p4.Qf[0]).toBe(7);

  // rollback asks first, with the diff; Cancel changes nothing
  await page.locator('#history tbody tr[data-version="1"] button').click();
  await page.waitForSelector('#confirm[open]');
  expect(await page.locator('#confirm-title').textContent()).toBe('Roll back to v1?');
  expect(await page.locator('#confirm-diff tr[data-path="cost.R.0"] td.to').textContent()).toBe('0.01');
  await page.screenshot({ path: 'test-artifacts/dashboard-rollback-confirm.png' });
  await page.locator('#confirm-cancel').click();
  await page.waitForSelector('#confirm', { state: 'hidden' });
  await page.waitForTimeout(300);
  expect((await history()).current).toBe(4);
  await page.locator('#history tbody tr[data-version="1"] button').click();
  await page.locator('#confirm-ok').click();
  await page.waitForSelector('#history tbody tr[data-version="5"].current');
  expect((await history()).versions[0]).toMatchObject({ version: 5, kind: 'rollback', what: { rollbackTo: 1 } });
  expect(Number(await page.locator('#n-R-0').inputValue())).toBe(0.01);
  await page.waitForSelector('#plot-u-0 .pred[data-version="5"]', { timeout: 10_000, state: 'attached' });

  // comparing two versions shows their difference
  await page.locator('#cmp-a').selectOption('2');
  await page.locator('#cmp-b').selectOption('4');
  expect(await page.locator('#compare-diff tr[data-path="cost.Qf.0"] td.to').textContent()).toBe('7');
  expect(await page.locator('#compare-diff tr[data-path="cost.Q.0"] td.from').textContent()).toBe('3');

  // an invalid staged entry: Apply shows the API's issue and changes nothing
  await page.locator('#b-u-lower-0').fill('50');
  await page.locator('#b-u-lower-0').press('Enter');
  await page.locator('#apply').click();
  await expect.poll(async () => page.locator('#error').textContent(), { timeout: 5000 }).toMatch(/constraints\.u\.lower\.0: lower bound 50 is above the upper bound 20/);
  expect(srv.runtimes.get('default')!.version).toBe(5);
  await page.locator('#discard').click();
  expect(await page.locator('#b-u-lower-0').inputValue()).toBe('-20');
  // the browser logs the 400 and the 412 it was answered; nothing else went wrong
  expect(errors.filter((e) => !/status of (400|412)/.test(e))).toEqual([]);
  await page.close();
}, 120_000);

it('e-stop from the header, and a job with a learning curve', async () => {
  const errors: string[] = [];
  const page = await openDashboard(errors);
  await page.locator('#estop').click();
  await expect.poll(async () => page.locator('[data-stat="mode"]').textContent(), { timeout: 5000 }).toBe('estop');
  expect(srv.runtimes.get('default')!.estop.engaged).toBe(true);
  expect(await page.locator('#estop').getAttribute('aria-pressed')).toBe('true');
  await page.locator('#estop').click();
  await expect.poll(async () => page.locator('[data-stat="mode"]').textContent(), { timeout: 5000 }).toBe('control');

  await page.waitForSelector('#job-kind option[value="tune-search"]', { state: 'attached' });
  await page.locator('#job-kind').selectOption('tune-search');
  await page.locator('#job-params').fill(JSON.stringify({ initialStates: [[0, 0, 2.95, 0]], iterations: 4, steps: 40 }));
  await page.locator('#job-start').click();
  await page.waitForSelector('#jobs tbody tr[data-status="succeeded"]', { timeout: 60_000 });
  await page.waitForFunction(() => Number(document.querySelector('#plot-job')?.getAttribute('data-points') ?? 0) === 5, undefined, { timeout: 5000 });
  expect((await page.locator('#plot-job polyline.past').getAttribute('points'))!.split(' ').length).toBe(5);
  await page.screenshot({ path: 'test-artifacts/dashboard-jobs.png' });
  expect(errors).toEqual([]);
  await page.close();
}, 90_000);

it('the pendulum and the diff-drive robot are drawn and move', async () => {
  const errors: string[] = [];
  const page = await openDashboard(errors);
  const moves = async () => {
    const pose = await page.locator('#robot-body').getAttribute('data-pose');
    await page.waitForFunction((p) => document.querySelector('#robot-body')?.getAttribute('data-pose') !== p, pose, { timeout: 8000 });
  };
  await page.locator('#controller').selectOption('pendulum');
  await page.waitForSelector('#plant-name:text("pendulum")');
  await page.waitForSelector('#robot-body .pole', { state: 'attached' });
  await moves();
  expect((await page.locator('#robot .predpath').getAttribute('points'))!.split(' ').length).toBeGreaterThanOrEqual(20);
  await page.screenshot({ path: 'test-artifacts/dashboard-pendulum.png' });

  // the diff-drive robot regulates to its reference: send it elsewhere and watch it drive (top view)
  await page.locator('#controller').selectOption('diffdrive');
  await page.waitForSelector('#plant-name:text("diffdrive")');
  await page.waitForSelector('#robot-body path', { state: 'attached' });
  const ref = srv.runtimes.get('diffdrive')!.params.cost.reference.state;
  const r = await call(srv, 'socket', 'PATCH', '/controllers/diffdrive/params', { cost: { reference: { state: [ref[0] + 1.5, ref[1] + 1, ...ref.slice(2)] } } }, AUTH);
  expect(r.status).toBe(200);
  await moves();
  await page.waitForTimeout(1500);
  const [px, py] = (await page.locator('#robot-body').getAttribute('data-pose'))!.split(',').map(Number);
  expect(Math.hypot(px - ref[0], py - ref[1])).toBeGreaterThan(0.2);
  expect((await page.locator('#robot .trail').getAttribute('points'))!.split(' ').length).toBeGreaterThan(10);
  await page.screenshot({ path: 'test-artifacts/dashboard-diffdrive.png' });
  expect(errors).toEqual([]);
  await page.close();
}, 60_000);

it('works at 800 px: one column, no plot narrower than 300 px, nothing wider than the window', async () => {
  const errors: string[] = [];
  const page = await openDashboard(errors);
  await page.setViewportSize({ width: 800, height: 1000 });
  await page.waitForTimeout(400);
  const widths = await page.locator('svg.plot').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width));
  expect(widths.length).toBeGreaterThanOrEqual(6);
  for (const w of widths) expect(w).toBeGreaterThanOrEqual(MIN_PLOT_PX);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(800);
  // the drawing keeps its pixel size: text is not squeezed (the viewBox follows the width)
  const vb = await page.locator('#plot-x-0').getAttribute('viewBox');
  const w0 = (await page.locator('#plot-x-0').boundingBox())!.width;
  expect(Math.abs(Number(vb!.split(' ')[2]) - w0)).toBeLessThan(2);
  expect((await page.locator('#robot').boundingBox())!.width).toBeGreaterThanOrEqual(MIN_PLOT_PX);
  await page.screenshot({ path: 'test-artifacts/dashboard-800px.png', fullPage: true });

  // pause freezes the plots; the window select and the mouse wheel zoom the time axis
  await expect.poll(() => srv.runtimes.get('default')!.latest?.t ?? 0, { timeout: 15_000 }).toBeGreaterThan(8); // more past than the window
  await page.locator('#plot-pause').click();
  const frozen = await page.locator('#plot-x-0 .past').getAttribute('points');
  await page.waitForTimeout(400);
  expect(await page.locator('#plot-x-0 .past').getAttribute('points')).toBe(frozen);
  await page.locator('#plot-window').selectOption('5');
  await page.waitForFunction(() => document.querySelector('#plots')?.getAttribute('data-window') === '5');
  const span = async () => { const [a, b] = await Promise.all(['data-t0', 'data-t1'].map((k) => page.locator('#plot-x-0').getAttribute(k))); return Number(b) - Number(a); };
  await expect.poll(span).toBeCloseTo(5 + 24 * 0.02, 6); // 5 s of past and the 25-step horizon
  const pb = (await page.locator('#plot-x-0').boundingBox())!;
  await page.mouse.move(pb.x + pb.width / 2, pb.y + pb.height / 2);
  await page.mouse.wheel(0, 300); // zoom out: a longer window, and the frozen plot is redrawn with it
  await page.waitForFunction(() => Number(document.querySelector('#plots')?.getAttribute('data-window')) > 5);
  await expect.poll(span).toBeCloseTo(6.25 + 24 * 0.02, 6);
  await page.locator('#plot-pause').click();

  // what-if without a staged edit: the current version alone
  await page.locator('#whatif-steps').fill('50');
  await page.locator('#whatif-run').click();
  await page.waitForSelector('[data-whatif="current-cost"]', { timeout: 20_000 });
  expect(await page.locator('[data-whatif="staged-cost"]').count()).toBe(0);
  expect(await page.locator('#whatif-table').textContent()).toContain('no staged edit');
  expect(errors).toEqual([]);
  await page.close();
}, 60_000);

it('a #token= link opened in a tab already showing the dashboard is taken and removed from the address bar', async () => {
  const page = await browser.newPage();
  await page.goto(`${srv.url}/dashboard`);
  await page.evaluate(() => localStorage.removeItem('dmpc.token'));
  await page.reload();
  await page.waitForSelector('#plots[data-version]');
  expect(await page.locator('#token').inputValue()).toBe('');
  await page.evaluate((t) => { location.hash = `#token=${t}`; }, TOKEN);
  await expect.poll(async () => page.locator('#token').inputValue(), { timeout: 5000 }).toBe(TOKEN);
  expect(new URL(page.url()).hash).toBe('');
  expect(await page.evaluate(() => localStorage.getItem('dmpc.token'))).toBe(TOKEN);
  await page.close();
}, 60_000);

it('scenario, pause and reset from the page', async () => {
  const errors: string[] = [];
  const page = await openDashboard(errors);
  const rt = srv.runtimes.get('default')!;
  // the alternating scenario sets the cart reference: that field cannot be edited, the scenario says so
  expect(await page.locator('#scenario-kind').inputValue()).toBe('alternating');
  expect(await page.locator('#ref-0').isDisabled()).toBe(true);
  expect(await page.locator('#scenario-panel').textContent()).toContain('sets cost.reference.state.0');
  await page.locator('#scenario-kind').selectOption('fixed');
  await page.locator('#scenario-apply').click();
  await page.waitForSelector('#ref-0:not([disabled])');
  expect((await call(srv, 'socket', 'GET', '/controllers/default/scenario')).json.scenario.kind).toBe('fixed');
  // now the reference is the parameters' own: a staged edit of it applies as one version
  const v = rt.version;
  await page.locator('#ref-0').fill('0.3');
  await page.locator('#ref-0').press('Enter');
  await page.locator('#apply').click();
  await page.waitForSelector(`#history tbody tr[data-version="${v + 1}"].current`);
  expect(rt.params.cost.reference.state[0]).toBe(0.3);
  await expect.poll(() => rt.latest!.reference[0], { timeout: 5000 }).toBe(0.3); // the loop tracks it

  // pause: the loop stops (simulated time stands still), resume: it goes on
  await page.locator('#pause').click();
  await expect.poll(() => rt.paused, { timeout: 3000 }).toBe(true);
  // the server flips its state before it answers; the page relabels the button when the answer arrives
  await expect.poll(() => page.locator('#pause').textContent(), { timeout: 3000 }).toBe('Resume loop');
  // the server's last tick is fixed now; the page may still render a frame that was on its way (the
  // stream sends every 2nd tick, the page draws on animation frames): wait until it shows the last one sent
  const tLast = rt.latest!.t;
  const dt = rt.controller.dt;
  const shown = async () => Number(await page.locator('[data-stat="sim time s"]').textContent());
  await expect.poll(shown, { timeout: 3000 }).toBeGreaterThanOrEqual(tLast - 2 * dt - 0.01); // 0.01: the 4 digits shown
  const t1 = await page.locator('[data-stat="sim time s"]').textContent();
  await page.waitForTimeout(500);
  expect(rt.latest!.t).toBe(tLast);
  expect(await page.locator('[data-stat="sim time s"]').textContent()).toBe(t1);
  await page.locator('#pause').click();
  await expect.poll(() => rt.paused, { timeout: 3000 }).toBe(false);
  await expect.poll(async () => page.locator('[data-stat="sim time s"]').textContent(), { timeout: 5000 }).not.toBe(t1);

  // reset: the plant goes back to its start state, counted in the loop's resets
  const resets = rt.stats.resets;
  await page.locator('#reset').click();
  await expect.poll(() => rt.stats.resets, { timeout: 3000 }).toBe(resets + 1);
  await page.screenshot({ path: 'test-artifacts/dashboard-scenario.png' });

  // a scenario changed elsewhere after the page loaded its version: the page's edit is a 412, shown,
  // and the form now shows the scenario in force (which the page's edit did not overwrite)
  const before = (await call(srv, 'socket', 'GET', '/controllers/default/scenario')).json;
  const other = await call(srv, 'socket', 'PUT', '/controllers/default/scenario', { kind: 'fixed', reset: false }, { authorization: `Bearer ${TOKEN}`, 'if-match': before.etag });
  expect(other.json.version).toBe(before.version + 1);
  await page.locator('#scenario-kind').selectOption('off');
  await page.locator('#scenario-apply').click();
  await expect.poll(() => page.locator('#scenario-error').textContent(), { timeout: 3000 }).toMatch(/^412 .*current scenario version/);
  await expect.poll(() => page.locator('#scenario-version').textContent(), { timeout: 3000 }).toMatch(new RegExp(`^version ${before.version + 1},`));
  expect(await page.locator('#scenario-reset').isChecked()).toBe(false);
  expect((await call(srv, 'socket', 'GET', '/controllers/default/scenario')).json.scenario).toEqual({ kind: 'fixed', reset: false, x0: before.scenario.x0 });

  // back to the alternating scenario for whoever comes next
  await page.locator('#scenario-kind').selectOption('alternating');
  await page.locator('#scenario-goals').fill('[[-0.5,null,null,null],[0.5,null,null,null]]');
  await page.locator('#scenario-period').fill('5');
  await page.locator('#scenario-apply').click();
  await page.waitForSelector('#ref-0[disabled]');
  // the browser logs the 412 it was answered; nothing else went wrong
  expect(errors.filter((e) => !/status of 412/.test(e))).toEqual([]);
  expect(errors.filter((e) => /status of 412/.test(e))).toHaveLength(1);
  await page.close();
}, 60_000);

it('the API page lists the operations, renders inline code, and sends a request', async () => {
  const page = await browser.newPage();
  await page.goto(`${srv.url}/docs`);
  await page.waitForSelector('#op-patchParams');
  expect(await page.locator('details.op').count()).toBeGreaterThanOrEqual(15);
  await page.locator('details.op').evaluateAll((els) => els.forEach((e) => e.setAttribute('open', '')));
  expect(await page.locator('body').innerText()).not.toContain('`');
  expect(await page.locator('#intro code').count()).toBeGreaterThanOrEqual(1);
  await page.locator('#op-solve button', { hasText: 'Send' }).click();
  await expect.poll(async () => page.locator('#op-solve pre').first().textContent(), { timeout: 5000 }).toMatch(/^200 .*"status": "optimal"/s);
  await page.screenshot({ path: 'test-artifacts/docs.png' });
}, 60_000);
