'use strict';
/**
 * A stand-in for `docker`, `singularity` and `apptainer` on a test host without them (test/support/stand-in-bin.ts
 * puts it first on the job script's PATH). It understands exactly the options Constellation's job script uses,
 * refuses any other (as the real CLI would refuse a typo, and so a new option cannot slip by untested), records
 * each call as one JSON line in $STANDIN_RUNTIME_LOG, and runs the container's command on the host:
 *
 * - every bind mount becomes a symbolic link inside a fresh per-container root folder, so that `/pulsar_staging`
 *   in the container is `<root>/pulsar_staging` → the bound host folder;
 * - container paths in the command's arguments are rewritten to their place under that root (whole path
 *   segments only), and the command starts in `<root><workdir>`;
 * - `CONTAINER_ROOT=<root>` is exported, so the stand-in images (pulsar-staging.cjs) can map the container paths
 *   they read from their own configuration;
 * - an image listed in $STANDIN_MISSING_IMAGES (comma-separated) fails as a missing image does (exit 125).
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const [runtime, sub, ...rest] = process.argv.slice(2);
const logFile = process.env.STANDIN_RUNTIME_LOG;

function record(entry) {
  if (logFile) fs.appendFileSync(logFile, `${JSON.stringify({ runtime, pid: process.pid, ...entry })}\n`);
}

function die(code, message) {
  process.stderr.write(`${runtime}: ${message}\n`);
  record({ op: 'refused', message });
  process.exit(code);
}

if (runtime === 'docker' && sub === 'rm') {
  record({ op: 'rm', args: rest });
  process.exit(0);
}
if (runtime === 'docker' ? sub !== 'run' : sub !== 'exec') die(125, `unsupported command ${sub}`);

const binds = [];
const env = {};
let workdir = '/';
let name = null;
let image = null;
let i = 0;
const value = (flag) => {
  if (i + 1 >= rest.length) die(125, `flag needs an argument: ${flag}`);
  i += 1;
  return rest[i];
};
for (; i < rest.length; i++) {
  const arg = rest[i];
  if (!arg.startsWith('-')) {
    image = arg;
    break;
  }
  if (runtime === 'docker') {
    if (arg === '--rm' || arg === '-i') continue;
    else if (arg === '--name') name = value(arg);
    else if (arg === '-w') workdir = value(arg);
    else if (arg === '-v') binds.push(value(arg));
    else if (arg === '-e') {
      const pair = value(arg);
      const cut = pair.indexOf('=');
      env[pair.slice(0, cut)] = pair.slice(cut + 1);
    } else die(125, `unknown flag: ${arg}`);
  } else {
    if (arg === '--cleanenv') continue;
    else if (arg === '--pwd') workdir = value(arg);
    else if (arg === '--bind' || arg === '-B') binds.push(value(arg));
    else die(255, `unknown flag: ${arg}`);
  }
}
if (image === null) die(125, 'no image given');
const command = rest.slice(i + 1);
if (command.length === 0) die(125, 'no command given');
if (runtime !== 'docker') {
  // What reaches a Singularity container: the variables given through the runtime's own prefixes.
  for (const [key, v] of Object.entries(process.env)) {
    const m = /^(?:SINGULARITYENV|APPTAINERENV)_(.+)$/.exec(key);
    if (m) env[m[1]] = v;
  }
}

const mounts = binds.map((spec) => {
  const [host, container, mode] = spec.split(':');
  if (!path.isAbsolute(host) || !path.isAbsolute(container)) die(125, `invalid bind ${spec}`);
  return { host, container: path.posix.normalize(container), readOnly: mode === 'ro' };
});

const missing = (process.env.STANDIN_MISSING_IMAGES || '').split(',').filter(Boolean);
const started = {
  op: 'run',
  image,
  name,
  workdir,
  binds: mounts.map((m) => ({
    container: m.container,
    host: fs.existsSync(m.host) ? fs.realpathSync(m.host) : m.host,
    readOnly: m.readOnly,
  })),
  env,
  command,
  cacheDir: process.env.SINGULARITY_CACHEDIR || process.env.APPTAINER_CACHEDIR || null,
};
if (missing.includes(image.replace(/^docker:\/\//, ''))) {
  record(started);
  record({ op: 'exit', image, name, exitCode: 125 });
  process.stderr.write(`${runtime}: Unable to find image '${image}' locally\n`);
  process.exit(125);
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'standin-root-'));
for (const m of mounts) {
  const at = path.join(root, m.container);
  fs.mkdirSync(path.dirname(at), { recursive: true });
  fs.symlinkSync(m.host, at);
}
const hostWorkdir = path.join(root, workdir);
// docker run -w creates the folder; Singularity's --pwd needs it to exist, which it does for `/`.
fs.mkdirSync(hostWorkdir, { recursive: true });

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const containerPaths = mounts.map((m) => m.container).sort((a, b) => b.length - a.length);
const pattern =
  containerPaths.length > 0
    ? new RegExp(
        `(^|[^A-Za-z0-9_.\\-/])(${containerPaths.map(escape).join('|')})(?=/|$|[^A-Za-z0-9_.\\-])`,
        'g',
      )
    : null;
const rewrite = (arg) => (pattern ? arg.replace(pattern, (_, before, p) => `${before}${root}${p}`) : arg);

record(started);
const child = spawn(command[0], command.slice(1).map(rewrite), {
  cwd: hostWorkdir,
  env: { ...process.env, ...env, CONTAINER_ROOT: root },
  stdio: 'inherit',
});
const finish = (code) => {
  fs.rmSync(root, { recursive: true, force: true });
  record({ op: 'exit', image, name, exitCode: code });
  process.exit(code);
};
child.on('error', (err) => {
  process.stderr.write(`${runtime}: ${command[0]}: ${err.message}\n`);
  finish(127);
});
child.on('exit', (code, signal) => finish(code === null ? 128 + (os.constants.signals[signal] || 0) : code));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => child.kill(sig));
