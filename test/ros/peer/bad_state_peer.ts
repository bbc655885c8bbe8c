/**
 * Publishes malformed sensor_msgs/msg/JointState on a topic (two joint names, one position), the
 * input the node must drop and report: `bad_state_peer.ts <topic> <count> <period_ms>` on the rtps
 * transport (ROS_DOMAIN_ID), sensor-data QoS; prints "published <count>".
 */
import { createTransport, QOS_SENSOR_DATA } from '../../../ros/transport.js';

const [topic, countS, msS] = process.argv.slice(2);
const t = await createTransport('rtps', { nodeName: 'dmpc_bad_state_peer', address: '127.0.0.1', log: (s) => console.error(s) });
const pub = t.advertise(topic, 'sensor_msgs/msg/JointState', QOS_SENSOR_DATA);
for (let k = 0; k < Number(countS); k++) {
  pub.publish({ header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' }, name: ['cart_joint', 'pole_joint'], position: [0.1], velocity: [], effort: [] });
  await new Promise((r) => setTimeout(r, Number(msS)));
}
console.log(`published ${countS}`);
await t.close();
