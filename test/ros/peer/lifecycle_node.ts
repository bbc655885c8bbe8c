/**
 * A managed (lifecycle) node on the RTPS transport, as a process for test/ros/lifecycle-peer.test.ts
 * (inside its network namespace):
 *
 *   lifecycle_node.ts <node name>
 *
 * Serves the lifecycle services of /<node name> (ros/lifecycle.ts serveLifecycle) over a
 * LifecycleMachine whose callbacks print "callback <name>[ <from state>]" and succeed, except that
 * the callback named in LIFECYCLE_FAIL_ONCE (e.g. onActivate) returns false the first time it runs.
 * Prints "serving" once the services are up, "finalized" when the node reaches that state, and exits
 * on SIGTERM. ROS_DOMAIN_ID selects the domain.
 */
import { LifecycleMachine, serveLifecycle, STATE, type LifecycleCallbacks } from '../../../ros/lifecycle.js';
import { createTransport } from '../../../ros/transport.js';

const [name] = process.argv.slice(2);
if (!name) { console.error('usage: lifecycle_node.ts <node name>'); process.exit(2); }
const t = await createTransport('rtps', { nodeName: name, address: '127.0.0.1', log: (s) => console.error(s) });
let failOnce = process.env.LIFECYCLE_FAIL_ONCE;

/** A callback that prints its call and succeeds, or fails the first time when LIFECYCLE_FAIL_ONCE names it. */
const callback = (cb: keyof LifecycleCallbacks) => (from?: number) => {
  console.log(`callback ${cb}${from === undefined ? '' : ` ${from}`}`);
  if (failOnce === cb) { failOnce = undefined; return false; }
  return true;
};

const machine = new LifecycleMachine({
  onConfigure: callback('onConfigure'), onActivate: callback('onActivate'), onDeactivate: callback('onDeactivate'),
  onCleanup: callback('onCleanup'), onShutdown: callback('onShutdown'), onError: callback('onError'),
}, {
  log: (s) => console.error(s),
  onTransition: (e) => { if (e.goal_state.id === STATE.FINALIZED) console.log('finalized'); },
});
const served = serveLifecycle(t, `/${name}`, machine);
console.log('serving');
process.on('SIGTERM', async () => { served.close(); await t.close(); process.exit(0); });
