/**
 * A child process run without blocking the test worker: the GPU tests' long steps (NVRTC compiles,
 * packing Node) take tens of seconds, and a worker blocked that long misses vitest's RPC deadline
 * ("Timeout calling onTaskUpdate"), which fails the whole run.
 */
import { spawn } from 'node:child_process';

export interface RunResult { status: number | null; stdout: string; stderr: string }

export function runAsync(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
