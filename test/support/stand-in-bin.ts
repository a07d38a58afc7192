import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One line of the stand-in runtime's log (stand-ins/container-runtime.cjs). */
export interface RuntimeCall {
  runtime: 'docker' | 'singularity' | 'apptainer';
  pid: number;
  op: 'run' | 'exit' | 'rm' | 'refused';
  image?: string;
  name?: string | null;
  workdir?: string;
  binds?: Array<{ container: string; host: string; readOnly: boolean }>;
  env?: Record<string, string>;
  command?: string[];
  cacheDir?: string | null;
  exitCode?: number;
  args?: string[];
  message?: string;
}

export interface StandInBin {
  /** Put first on the job script's PATH. */
  dir: string;
  /** Environment for the job script: PATH plus what the stand-ins read. */
  env: Record<string, string>;
  calls(): RuntimeCall[];
  /** Deletes the folder and the log. */
  remove(): void;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * A folder of executables standing in for a container runtime (`docker`, `singularity`, `apptainer`) and for
 * the commands of Pulsar's staging image (`pulsar-submit`, `pulsar-finish`), which the runtime stand-in runs on
 * the host. `missingImages` fail to start as absent images do.
 */
export function makeStandInBin(options: { missingImages?: string[] } = {}): StandInBin {
  const base = mkdtempSync(join(tmpdir(), 'standin-bin-'));
  const dir = join(base, 'bin');
  mkdirSync(dir);
  const log = join(base, 'runtime.log');
  const script = (name: string) => join(__dirname, 'stand-ins', name);
  const wrapper = (file: string, ...fixed: string[]) =>
    `#!/bin/sh\nexec ${[process.execPath, file, ...fixed].map(quote).join(' ')} "$@"\n`;
  for (const runtime of ['docker', 'singularity', 'apptainer']) {
    writeFileSync(join(dir, runtime), wrapper(script('container-runtime.cjs'), runtime), { mode: 0o755 });
  }
  for (const command of ['pulsar-submit', 'pulsar-finish']) {
    writeFileSync(join(dir, command), wrapper(script('pulsar-staging.cjs'), command), { mode: 0o755 });
  }
  return {
    dir,
    env: {
      PATH: `${dir}:${process.env.PATH ?? ''}`,
      STANDIN_RUNTIME_LOG: log,
      STANDIN_MISSING_IMAGES: (options.missingImages ?? []).join(','),
      STANDIN_AMQPLIB: require.resolve('amqplib'),
    },
    calls: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as RuntimeCall)
        : [],
    remove: () => rmSync(base, { recursive: true, force: true }),
  };
}
