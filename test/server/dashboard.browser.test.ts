/**
 * The dashboard in a real browser: headless Chromium from Debian's `chromium` package driven by
 * playwright-core (../shared/notes/tooling.md). Opens the dashboard with the token in the URL
 * fragment, waits for live plots, moves the R weight slider with the mouse, and checks that the
 * API's version history has the new value, the history table shows it, and the plotted prediction is
 * redrawn from a tick computed with the new version. Screenshots go to test-artifacts/.
 *
 * Needs /usr/bin/chromium (apt-get install -y chromium) or CHROMIUM_PATH; without it the test fails.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TOKEN, call, testServer } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let srv: Awaited<ReturnType<typeof testServer>>;
let browser: BrowserContext;
const profile = mkdtempSync(join(tmpdir(), 'dmpc-chromium-'));

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium package (apt-get install -y chromium) or set CHROMIUM_PATH`);
  srv = await testServer({ run: true });
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1500, height: 1000 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await srv?.cleanup();
  rmSync(profile, { recursive: true, force: true });
});

it('move a weight slider: new version in the API history and the table, prediction redrawn with it', async () => {
  mkdirSync('test-artifacts', { recursive: true });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`${srv.url}/dashboard#token=${TOKEN}`);
  expect(new URL(page.url()).hash).toBe(''); // the token leaves the address bar

  // live: plots for every state and the command, with a prediction drawn from version 1
  await page.waitForSelector('#plots[data-version="1"]', { timeout: 20_000 });
  await page.waitForFunction(() => (document.querySelector('#plot-u-0 .pred')?.getAttribute('points') ?? '').split(' ').length >= 20);
  for (const id of ['plot-x-0', 'plot-x-1', 'plot-x-2', 'plot-x-3', 'plot-u-0', 'plot-solve']) expect(await page.locator(`#${id}`).count(), id).toBe(1);
  expect(await page.locator('#history tbody tr').count()).toBe(1);
  expect(await page.locator('[data-stat="status"]').textContent()).toBe('optimal');
  const predBefore = await page.locator('#plot-u-0 .pred').getAttribute('points');
  await page.screenshot({ path: 'test-artifacts/dashboard-before.png' });

  // drag… a click on the track at 85 % of the R slider (log10 range −4…4 → ≈ 10^2.8)
  const slider = page.locator('#w-R-0');
  const box = (await slider.boundingBox())!;
  await page.mouse.click(box.x + 0.85 * box.width, box.y + box.height / 2);
  const shown = Number(await page.locator('#n-R-0').inputValue());
  expect(shown).toBeGreaterThan(100);
  expect(shown).toBeLessThan(1e4);

  // the API has version 2 with that R, made by the dashboard
  await expect.poll(async () => (await call(srv, 'socket', 'GET', '/controllers/default/params/history')).json.current, { timeout: 10_000 }).toBe(2);
  const h = (await call(srv, 'socket', 'GET', '/controllers/default/params/history')).json.versions[0];
  expect(h).toMatchObject({ version: 2, kind: 'patch', what: { cost: { R: [shown] } } });
  expect(h.who).toMatch(/^dashboard @ 127\.0\.0\.1$/);
  expect(h.params.cost.Q).toEqual([1, 0.1, 10, 0.1]);

  // the history table shows it, and the prediction is redrawn from a tick that used version 2
  await page.waitForSelector('#history tbody tr[data-version="2"].current');
  expect(await page.locator('#history tbody tr[data-version="2"] td.what').textContent()).toContain(`"R":[${shown}]`);
  await page.waitForSelector('#plot-u-0 .pred[data-version="2"]', { timeout: 10_000 });
  await page.waitForSelector('#plot-x-2 .pred[data-version="2"]');
  expect(await page.locator('#version').textContent()).toBe('v2');
  const predAfter = await page.locator('#plot-u-0 .pred').getAttribute('points');
  expect(predAfter).not.toBe(predBefore);
  // the running loop computes with the new weight
  expect(srv.runtimes.get('default')!.controller.params().cost.R).toEqual([shown]);
  await page.screenshot({ path: 'test-artifacts/dashboard.png' });

  // roll back from the table
  await page.locator('#history tbody tr[data-version="1"] button').click();
  await page.waitForSelector('#history tbody tr[data-version="3"].current');
  expect(Number(await page.locator('#n-R-0').inputValue())).toBe(0.01);
  await page.waitForSelector('#plot-u-0 .pred[data-version="3"]', { timeout: 10_000 });
  expect(srv.runtimes.get('default')!.params.cost.R).toEqual([0.01]);

  expect(errors).toEqual([]);
  // an invalid entry shows the API's issue and changes nothing (the browser logs the 400 itself)
  await page.locator('#b-u-lower-0').fill('50');
  await page.locator('#b-u-lower-0').press('Enter');
  await page.locator('#b-u-lower-0').blur();
  await expect.poll(async () => page.locator('#error').textContent(), { timeout: 5000 }).toMatch(/constraints\.u\.lower\.0: lower bound 50 is above the upper bound 20/);
  expect(srv.runtimes.get('default')!.version).toBe(3);
  expect(errors.filter((e) => !/status of 400/.test(e))).toEqual([]);
}, 90_000);

it('the API page lists the operations and sends a request', async () => {
  const page = await browser.newPage();
  await page.goto(`${srv.url}/docs`);
  await page.waitForSelector('#op-patchParams');
  expect(await page.locator('details.op').count()).toBeGreaterThanOrEqual(15);
  await page.locator('#op-solve > summary').click();
  await page.locator('#op-solve button', { hasText: 'Send' }).click();
  await expect.poll(async () => page.locator('#op-solve pre').first().textContent(), { timeout: 5000 }).toMatch(/^200 .*"status": "optimal"/s);
  await page.screenshot({ path: 'test-artifacts/docs.png' });
}, 60_000);
