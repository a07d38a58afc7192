/** What a simulated command did: its exit code, its output and how long it asked to sleep (unscaled). */
export interface CommandOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
  sleepMs: number;
}

/** The container's file system, as the fake that runs the command keeps it. */
export interface SimulatedFiles {
  read(path: string): string | undefined;
  write(path: string, content: string): void;
}

/**
 * The simulated container of the fake sites: a few commands (echo, true, false, sleep, cat, and `sh -c` with
 * `a; b > /path; exit N`, enough shell for tests to make files and exit codes), interpreted; everything else
 * is "command not found", as in a real container.
 */
export function interpretCommand(
  argv: readonly string[],
  files: SimulatedFiles,
  stdin = '',
  depth = 0,
): CommandOutcome {
  const done = (exitCode: number, stdout = '', stderr = '', sleepMs = 0): CommandOutcome => ({
    exitCode,
    stdout,
    stderr,
    sleepMs,
  });
  const [program = '', ...args] = argv;
  switch (program.split('/').pop()) {
    case 'echo':
      return done(0, `${args.join(' ')}\n`);
    case 'true':
      return done(0);
    case 'false':
      return done(1);
    case 'sleep': {
      const seconds = Number(args[0]);
      if (args.length !== 1 || !Number.isFinite(seconds) || seconds < 0) {
        return done(1, '', `sleep: invalid time interval '${args[0] ?? ''}'\n`);
      }
      return done(0, '', '', seconds * 1000);
    }
    case 'cat': {
      if (args.length === 0) return done(0, stdin);
      let stdout = '';
      for (const path of args) {
        const content = files.read(path);
        if (content === undefined) return done(1, stdout, `cat: ${path}: No such file or directory\n`);
        stdout += content;
      }
      return done(0, stdout);
    }
    case 'sh':
    case 'bash': {
      if (args[0] !== '-c' || args[1] === undefined || depth > 0) break;
      let stdout = '';
      let stderr = '';
      let sleepMs = 0;
      for (const statement of args[1].split(';')) {
        const [command, target] = statement.split('>').map((s) => s.trim());
        const words = command.split(/\s+/).filter(Boolean);
        if (words.length === 0) continue;
        if (words[0] === 'exit') {
          const code = Number(words[1] ?? '0');
          return Number.isInteger(code)
            ? done(code & 0xff, stdout, stderr, sleepMs)
            : done(2, stdout, `${stderr}${program}: exit: ${words[1]}: numeric argument required\n`, sleepMs);
        }
        const step = interpretCommand(words, files, stdin, depth + 1);
        if (target) files.write(target, step.stdout);
        else stdout += step.stdout;
        stderr += step.stderr;
        sleepMs += step.sleepMs;
        if (step.exitCode !== 0) return done(step.exitCode, stdout, stderr, sleepMs);
      }
      return done(0, stdout, stderr, sleepMs);
    }
  }
  return done(127, '', `${program}: command not found\n`);
}
