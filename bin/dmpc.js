#!/usr/bin/env -S node --no-memory-reducer
// The `dmpc` command. The CLI runs in this very process (tsx's loader is registered in-process,
// no child process), so the PID a supervisor or launch system holds is the PID that owns the ROS 2
// transport: SIGINT, SIGTERM and SIGHUP reach the node itself, which publishes its stop command.
//
// --no-memory-reducer (the shebang; npm's scripts and the launch file run it the same way): V8's
// memory reducer starts full collections in a process that looks idle in order to shrink its heap, and
// a control node at 100 Hz is idle 90 % of the time: with it, 10 major GCs in 30 s of the cart-pole
// benchmark, without it 1 (docs/ros.md, "V8 settings"). It can only be set on the command line.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
