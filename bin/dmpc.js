#!/usr/bin/env -S node --no-memory-reducer --min-semi-space-size=16 --max-semi-space-size=16
// The `dmpc` command. The CLI runs in this very process (tsx's loader is registered in-process,
// no child process), so the PID a supervisor or launch system holds is the PID that owns the ROS 2
// transport: SIGINT, SIGTERM and SIGHUP reach the node itself, which publishes its stop command.
//
// --no-memory-reducer (the shebang; npm's scripts and the launch file run it the same way): V8's
// memory reducer starts full collections in a process that looks idle in order to shrink its heap, and
// a control node at 100 Hz is idle 90 % of the time: with it, 10 major GCs in 30 s of the cart-pole
// benchmark, without it 1 (docs/ros.md, "V8 settings"). It can only be set on the command line.
//
// --min-semi-space-size=16 --max-semi-space-size=16: a young generation fixed at 16 MB per semi-space.
// V8 otherwise keeps it at ≈ 1 MB for a process whose garbage dies young, so the node scavenged every
// 1.5–8 s; with 16 MB, about once a minute at 50 and 100 Hz (0.3–0.65 MB/s), and the collector's time
// and its pauses over 1 ms fell 4–15 fold (`npm run bench -- ros-garbage`, docs/ros.md "V8 settings").
// A scavenge copies only what survives, so a larger young generation does not lengthen each one much.
// Heap sizes are fixed when the heap is made: command line only, as above.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
