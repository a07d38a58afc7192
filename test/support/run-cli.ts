import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { TS_NODE_ARGS, tsNodeEnv } from './broker-process';

const ROOT = path.resolve(__dirname, '..', '..');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs apps/broker/src/cli.ts (ts-node) as `npm run cli -- ...` does, with `env` on top of the test's. */
export function runCli(env: Record<string, string>, args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...TS_NODE_ARGS, 'apps/broker/src/cli.ts', ...args], {
      cwd: ROOT,
      env: tsNodeEnv({ ...process.env, LOG_LEVEL: 'silent', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
