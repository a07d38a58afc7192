#!/usr/bin/env node
// Builds the project only when a source is newer than the last build, so `npm run cli` and the migration
// scripts start in well under a second when nothing changed (a full `nest build` takes several seconds).
//   node scripts/build-if-stale.js           build if stale, then exit
//   node scripts/build-if-stale.js --stamp   record that a build just finished (the `build` script's last step)
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const stampFile = path.join(root, 'dist', '.build-stamp');
/** What a build reads: sources, and the files that say how to compile them. */
const SOURCES = ['apps', 'libs', 'migrations'];
const CONFIGS = ['package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'nest-cli.json'];

function newestMtime() {
  let newest = 0;
  const visit = (p) => {
    let stat;
    try {
      stat = fs.statSync(p);
    } catch {
      return;
    }
    if (stat.isDirectory()) {
      const name = path.basename(p);
      if (name === 'node_modules' || name === 'dist') return;
      for (const entry of fs.readdirSync(p)) visit(path.join(p, entry));
    } else if (stat.mtimeMs > newest) newest = stat.mtimeMs;
  };
  for (const dir of SOURCES) visit(path.join(root, dir));
  for (const file of CONFIGS) visit(path.join(root, file));
  return newest;
}

function stamp(at) {
  fs.mkdirSync(path.dirname(stampFile), { recursive: true });
  fs.writeFileSync(stampFile, `${at}\n`);
}

if (process.argv.includes('--stamp')) {
  stamp(Date.now());
  process.exit(0);
}
let built = -1;
try {
  built = Number(fs.readFileSync(stampFile, 'utf8'));
} catch {
  // Never built here, or built before stamps existed.
}
if (built > 0 && newestMtime() <= built) process.exit(0);
const startedAt = Date.now();
const result = spawnSync(process.execPath, [require.resolve('@nestjs/cli/bin/nest.js'), 'build'], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (result.status !== 0) process.exit(result.status ?? 1);
// `nest build` empties dist/, the web console's build included: build that again too.
const console_ = spawnSync(
  process.execPath,
  [
    path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'),
    'build',
    '--config',
    'apps/console/vite.config.ts',
    '--logLevel',
    'warn',
  ],
  { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] },
);
if (console_.status !== 0) process.exit(console_.status ?? 1);
// The time the build started: a file saved while it ran makes the next call build again.
stamp(startedAt);
