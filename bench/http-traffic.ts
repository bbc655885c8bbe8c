/**
 * HTTP tuning traffic during a `npm run bench -- ros` run (DMPC_BENCH_ROS_HTTP_POLL_HZ): the tuning
 * server (`dmpc serve`, its own process on the same machine, its cart-pole looping on its simulated
 * plant) polled as the dashboard polls it — the controller's description and parameters at `hz` — and a
 * weight patched every second (alternating between two values, so each patch is a new version). Prints
 * how many requests were answered when it stops (SIGTERM).
 *
 *   http-traffic.ts <base url> <bearer token> <polls per second>
 *
 * The controller node under test has no HTTP API (it is tuned over ROS 2 parameters, which
 * bench/param-traffic.ts exercises); this is the load of a tuning server next to it on the robot's
 * computer.
 */
const [base, token, hzArg] = process.argv.slice(2);
const hz = Number(hzArg);
if (!base || !token || !(hz > 0)) {
  console.error('usage: http-traffic.ts <base url> <token> <polls per second>');
  process.exit(2);
}
const auth = { authorization: `Bearer ${token}` };
let polls = 0, patches = 0, failed = 0, stopping = false;
process.on('SIGTERM', () => { stopping = true; });

async function ok(r: Promise<Response>): Promise<boolean> {
  try { const res = await r; await res.arrayBuffer(); return res.ok; } catch { return false; }
}

// wait for the server (it loads MuJoCo and compiles its controller first)
for (const until = Date.now() + 60_000; !(await ok(fetch(`${base}/health`))); ) {
  if (Date.now() > until) { console.error(`http-traffic: ${base} did not answer within 60 s`); process.exit(1); }
  await new Promise((r) => setTimeout(r, 200));
}
const r0 = await (await fetch(`${base}/controllers/default/params`, { headers: auth })).json() as { params: { cost: { R: number[] } } };
const rValues = [r0.params.cost.R[0], r0.params.cost.R[0] * 1.5];
let nextPatch = Date.now() + 1000;
for (let k = 0; !stopping; k++) {
  const t0 = Date.now();
  const a = await ok(fetch(`${base}/controllers/default`, { headers: auth }));
  const b = await ok(fetch(`${base}/controllers/default/params`, { headers: auth }));
  polls += 2; failed += (a ? 0 : 1) + (b ? 0 : 1);
  if (t0 >= nextPatch) {
    const p = await ok(fetch(`${base}/controllers/default/params`, {
      method: 'PATCH', headers: { ...auth, 'content-type': 'application/json', 'x-dmpc-user': 'bench' },
      body: JSON.stringify({ cost: { R: [rValues[patches % 2]] } }),
    }));
    if (p) patches++; else failed++;
    nextPatch += 1000;
  }
  await new Promise((r) => setTimeout(r, Math.max(0, 1000 / hz - (Date.now() - t0))));
}
console.error(`http-traffic: ${polls} polls, ${patches} patches, ${failed} failed`);
process.exit(0);
