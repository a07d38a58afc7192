import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { FakePulsarDir, FakePulsarSimulator } from '@constellation/testing';

/** Pulsar substitutes this in command_line with its staging directory (pulsar/manager_endpoint_util.py). */
const JOBS_DIRECTORY = '__PULSAR_JOBS_DIRECTORY__';
const JOB_FOLDERS = ['inputs', 'working', 'outputs', 'metadata', 'tool_files', 'configs', 'unstructured'];
/** What a job leaves that the fakes serve back: the REST outputs folder, or AMQP's working folder. */
const READ_BACK: FakePulsarDir[] = ['outputs', 'working', 'metadata'];

function filesBelow(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const full = join(dir, name);
    const stat = statSync(full, { throwIfNoEntry: false });
    if (!stat) return [];
    return stat.isDirectory() ? filesBelow(full) : [full];
  });
}

/**
 * A fake Pulsar's simulator that really runs the job: the job's files (uploads, staged inputs, setup messages)
 * are written into `<stagingRoot>/<job id>/<folder>/`, the command line Pulsar was given runs in bash in the
 * job's working folder with `env` added (e.g. a stand-in container runtime first on PATH), and what it leaves
 * in the job directory is served back as Pulsar would. A cancel kills the script's process group, as Pulsar's
 * kill does.
 */
export function runJobScript(options: {
  stagingRoot: string;
  env?: Record<string, string>;
}): FakePulsarSimulator {
  return async (job, ctx) => {
    const jobDir = join(options.stagingRoot, job.id);
    for (const folder of JOB_FOLDERS) mkdirSync(join(jobDir, folder), { recursive: true });
    for (const [key, data] of job.files) {
      const target = join(jobDir, key);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, data);
    }
    const commandLine = (job.commandLine ?? '').split(JOBS_DIRECTORY).join(options.stagingRoot);
    const code = await new Promise<number>((resolve) => {
      const child = spawn('bash', ['-c', commandLine], {
        cwd: join(jobDir, 'working'),
        env: { ...process.env, ...options.env },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (c: Buffer) => (job.jobStdout += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (job.jobStderr += c.toString('utf8')));
      const kill = () => {
        try {
          process.kill(-(child.pid as number), 'SIGKILL');
        } catch {
          // Already gone.
        }
      };
      ctx.signal.addEventListener('abort', kill, { once: true });
      child.on('error', () => resolve(127));
      child.on('close', (status, signal) => {
        ctx.signal.removeEventListener('abort', kill);
        resolve(status ?? (signal ? 137 : 1));
      });
    });
    for (const folder of READ_BACK) {
      for (const file of filesBelow(join(jobDir, folder))) {
        ctx.put(folder, relative(join(jobDir, folder), file), readFileSync(file));
      }
    }
    return code;
  };
}
