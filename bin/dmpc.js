#!/usr/bin/env node
// The `dmpc` command. The CLI runs in this very process (tsx's loader is registered in-process,
// no child process), so the PID a supervisor or launch system holds is the PID that owns the ROS 2
// transport: SIGINT, SIGTERM and SIGHUP reach the node itself, which publishes its stop command.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
