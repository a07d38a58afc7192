import type { TesExecutor } from '@constellation/tes';
import { STREAM_TAIL_BYTES } from '../site-adapter';
import { dirnameOf } from './container-paths';
import { RECORDS_DIR, type PlanOutput, type PreparedJob } from './job-plan';
import type { JobDirectories } from './pulsar-responses';
import { quote, quoteGlob } from './shell-quote';

/**
 * The bash script Pulsar runs for one attempt (Pulsar starts `command_line` in the job's working directory).
 * It picks the first runtime of the site's list that is installed, places the inputs, runs the executors in
 * order, records each one (see job-records.ts), and copies the outputs into Pulsar's outputs directory, where
 * the broker downloads them. Everything from the task document is single-quoted by `quote`.
 *
 * Container layout (docker, singularity, apptainer): every output folder, volume and stream-file folder is a
 * fresh host directory under `$S/mnt/<n>`, bound at its container path; an input inside one of them is copied
 * there, any other input file is bound read-only at its path. With `none`, container paths are host paths.
 */

type Mode = 'none' | 'container';
const SYSTEM_EXIT = 90;

/** Where the outputs go after the job. */
export interface ScriptVariant {
  /**
   * Message-queue mode: Pulsar POSTs the outputs folder and never deletes the job directory (only the REST
   * `clean` route does). The script writes a manifest of the collected files (MANIFEST_NAME: `<size>\t<path>` per
   * line, relative to the outputs folder; a newline in a name becomes `?`) so the broker can tell an upload
   * Pulsar swallowed, and removes the staged inputs and its scratch folder once the outputs are collected.
   */
  amqp?: boolean;
}

/** The manifest of collected outputs, relative to the outputs folder (AMQP variant). */
export const MANIFEST_NAME = `${RECORDS_DIR}/manifest`;

/** Docker containers are named after the job, so a killed script's containers can be found and removed. */
export function containerName(jobId: string, executor: number): string {
  return `cst-${jobId.replace(/[^A-Za-z0-9_.-]/g, '_')}-${executor}`;
}

/** Seconds between the watchdog's checks that the script still lives. */
const WATCHDOG_SECONDS = 2;

export function jobScript(job: PreparedJob, dirs: JobDirectories, variant: ScriptVariant = {}): string {
  const { plan } = job;
  const runtimes = plan.runtimes;
  const containerRuntimes = runtimes.filter((r) => r !== 'none');
  const out: string[] = [
    '#!/bin/bash',
    `# Constellation job ${plan.job_id}: the TES executors of one task attempt (generated; do not edit).`,
    'set -u',
    'umask 022',
    'shopt -s nullglob',
    `I=${quote(dirs.inputs)}`,
    `W=${quote(dirs.working)}`,
    `O=${quote(dirs.outputs)}`,
    `R="$O"/${quote(RECORDS_DIR)}`,
    `S="$W"/${quote(RECORDS_DIR)}`,
    `mkdir -p -- "$R" "$S" || exit ${SYSTEM_EXIT}`,
    ': > "$R/log"',
    'rec() { local IFS=$\'\\t\'; printf \'%s\\n\' "$*" >> "$R/log"; }',
    'now() { date -u +%Y-%m-%dT%H:%M:%SZ; }',
    `fail() { rec system "$1"; rec end "$(now)"; exit ${SYSTEM_EXIT}; }`,
    // A hard link costs no space when source and target share a file system; otherwise copy. Both follow a
    // symbolic link (-L): a link kept as a link would dangle at the site, whose download then fails.
    'place() { mkdir -p -- "$(dirname -- "$2")" && { ln -fL -- "$1" "$2" 2>/dev/null || cp -fL -- "$1" "$2"; }; }',
    `rec begin "$(now)" ${plan.executors.length}`,
    "RT=''",
    `for c in ${runtimes.map(quote).join(' ')}; do`,
    '  if [ "$c" = none ] || command -v "$c" >/dev/null 2>&1; then RT=$c; break; fi',
    'done',
    `[ -n "$RT" ] || fail ${quote(`none of the container runtimes ${runtimes.join(', ')} is installed`)}`,
    'rec runtime "$RT"',
    ...(runtimes.includes('docker') ? dockerReaper(plan.job_id, plan.executors.length) : []),
    'case "$RT" in',
  ];
  if (runtimes.includes('none')) out.push('  none)', ...indent(modeBlock(job, 'none'), 4), '    ;;');
  if (containerRuntimes.length > 0) {
    out.push('  *)', ...indent(modeBlock(job, 'container'), 4), '    ;;');
  }
  out.push('esac', 'code=0', 'stop=0');
  plan.executors.forEach((executor, i) => out.push(...executorBlock(job, executor, i)));
  if (variant.amqp) {
    out.push(...manifestFunction());
    out.push('if [ "$stop" = 0 ]; then collect; manifest; fi');
    // Pulsar keeps the job directory in this mode: only the collected outputs and records stay.
    out.push('rm -rf -- "$I" "$S" 2>/dev/null');
  } else {
    out.push('if [ "$stop" = 0 ]; then collect; fi');
  }
  out.push('rec end "$(now)"', 'exit "$code"', '');
  return out.join('\n');
}

/** Lists every collected output file with its size, written whole or not at all. */
function manifestFunction(): string[] {
  return [
    'manifest() {',
    '  local f r s',
    '  : > "$S/manifest" || fail \'could not write the output manifest\'',
    "  while IFS= read -r -d '' f; do",
    '    r=${f#"$O"/}',
    `    case "$r" in ${quote(RECORDS_DIR)}/*) continue ;; esac`,
    '    s=$(wc -c < "$f") || fail \'could not write the output manifest\'',
    '    printf \'%s\\t%s\\n\' "${s//[!0-9]/}" "${r//$\'\\n\'/?}" >> "$S/manifest" || fail \'could not write the output manifest\'',
    '  done < <(find "$O" -type f -print0)',
    `  mv -f -- "$S/manifest" "$O"/${quote(MANIFEST_NAME)} || fail 'could not write the output manifest'`,
    '}',
  ];
}

/**
 * Docker containers are not children of the script: killing the script's process tree (Pulsar's kill) leaves
 * them running. A TERM/INT/EXIT trap removes them when the script can still act; for a SIGKILL, a watchdog
 * started in a session of its own (outside the tree Pulsar kills) polls the script's pid and removes them once
 * it is gone. Without `setsid` the watchdog stays in the tree and dies with it.
 */
function dockerReaper(jobId: string, executors: number): string[] {
  const names = Array.from({ length: executors }, (_, i) => quote(containerName(jobId, i))).join(' ');
  if (executors === 0) return [];
  const loop =
    `while kill -0 "$1" 2>/dev/null; do sleep ${WATCHDOG_SECONDS}; done; shift; ` +
    'docker rm -f "$@" >/dev/null 2>&1';
  return [
    'if [ "$RT" = docker ]; then',
    `  reap() { docker rm -f ${names} >/dev/null 2>&1; }`,
    "  trap 'reap' EXIT",
    "  trap 'exit 143' TERM",
    "  trap 'exit 130' INT",
    '  if command -v setsid >/dev/null 2>&1; then',
    `    ( setsid bash -c ${quote(loop)} cst-watchdog "$$" ${names} </dev/null >/dev/null 2>&1 & )`,
    '  fi',
    'fi',
  ];
}

function indent(lines: string[], by: number): string[] {
  return lines.map((line) => ' '.repeat(by) + line);
}

/** A bash word for the host path behind a container path, in this mode. */
function hostPath(job: PreparedJob, mode: Mode, path: string, glob = false): string {
  const q = glob ? quoteGlob : quote;
  if (mode === 'none') return q(path);
  const located = job.mounts.locate(path);
  if (located) return `"$S"${q(`/mnt/${located.mount}${located.rest}`)}`;
  const input = job.staged.find((s) => s.path === path);
  if (input) return `"$I"${quote(`/${input.name}`)}`;
  // prepareJob guarantees every path we map is an input or inside a mount.
  throw new Error(`no host path for ${path}`);
}

function modeBlock(job: PreparedJob, mode: Mode): string[] {
  const { plan, mounts } = job;
  const lines: string[] = [];
  const dirs = new Set<string>();
  if (mode === 'container') mounts.mounts.forEach((m) => dirs.add(hostPath(job, mode, m)));
  else mounts.mounts.forEach((m) => dirs.add(quote(m)));
  for (const o of plan.outputs) {
    if (o.type === 'FILE' && !o.path_prefix) dirs.add(hostPath(job, mode, dirnameOf(o.path)));
  }
  for (const e of plan.executors) {
    for (const p of [e.stdout, e.stderr]) if (p) dirs.add(hostPath(job, mode, dirnameOf(p)));
  }
  if (dirs.size > 0) {
    lines.push(`mkdir -p -- ${[...dirs].join(' ')} || fail 'could not create the output and volume folders'`);
  }
  job.staged.forEach((input, i) => {
    // A container sees an input outside every mount through its own read-only bind: nothing to place.
    if (mode === 'container' && mounts.locate(input.path) === null) return;
    const target = hostPath(job, mode, input.path);
    lines.push(
      `place "$I"${quote(`/${input.name}`)} ${target} || fail 'could not place input ${i} at its path'`,
    );
  });
  plan.executors.forEach((e, i) => {
    lines.push(`X${i}I=${e.stdin ? hostPath(job, mode, e.stdin) : '/dev/null'}`);
    lines.push(`X${i}O=${e.stdout ? hostPath(job, mode, e.stdout) : `"$S"/${quote(`${i}.out`)}`}`);
    lines.push(`X${i}E=${e.stderr ? hostPath(job, mode, e.stderr) : `"$S"/${quote(`${i}.err`)}`}`);
  });
  lines.push(
    'collect() {',
    ...indent(
      plan.outputs.flatMap((o, i) => collectOutput(job, mode, o, i)),
      2,
    ),
    '  :',
    '}',
  );
  return lines;
}

function collectOutput(job: PreparedJob, mode: Mode, output: PlanOutput, i: number): string[] {
  const dest = `"$O"/${quote(output.key)}`;
  const failed = `fail 'could not collect output ${i}'`;
  if (output.path_prefix !== undefined) {
    return [
      `hp=${hostPath(job, mode, output.path_prefix)}`,
      `for f in ${hostPath(job, mode, output.path, true)}; do`,
      '  [ -f "$f" ] || continue',
      '  r=${f#"$hp"}; r=${r#/}',
      '  [ -n "$r" ] || continue',
      `  place "$f" ${dest}/"$r" || ${failed}`,
      'done',
    ];
  }
  const source = hostPath(job, mode, output.path);
  if (output.type === 'DIRECTORY') {
    return [
      `if [ -d ${source} ]; then`,
      // -L: copy what a symbolic link points to; a dangling one fails the collection, naming the output.
      `  mkdir -p -- ${dest} && cp -RL -- ${source}/. ${dest}/ || ${failed}`,
      `else rec missing ${quote(output.key)}; fi`,
    ];
  }
  return [
    `if [ -f ${source} ]; then place ${source} ${dest} || ${failed}; else rec missing ${quote(output.key)}; fi`,
  ];
}

function executorBlock(job: PreparedJob, executor: TesExecutor, i: number): string[] {
  const runtimes = job.plan.runtimes;
  const redirect = `<"$X${i}I" >"$X${i}O" 2>"$X${i}E"`;
  const lines = [`# executor ${i}`, 'if [ "$stop" = 0 ]; then', '  t=$(now)', '  case "$RT" in'];
  if (runtimes.includes('none')) lines.push(`    none) ${directCommand(executor)} ${redirect} ;;`);
  // In the background with `wait`: bash runs a trap only once the foreground command ends, and the TERM trap
  // must remove the container while it runs.
  if (runtimes.includes('docker'))
    lines.push(`    docker) ${dockerCommand(job, executor, i)} ${redirect} & wait $! ;;`);
  const singularityLike = runtimes.filter((r) => r === 'singularity' || r === 'apptainer');
  if (singularityLike.length > 0) {
    lines.push(`    ${singularityLike.join('|')}) ${singularityCommand(job, executor)} ${redirect} ;;`);
  }
  const ignore = executor.ignore_error === true;
  lines.push(
    '  esac',
    '  rc=$?',
    `  rec exec ${i} "$rc" "$t" "$(now)"`,
    `  tail -c ${STREAM_TAIL_BYTES} -- "$X${i}O" > "$R"/${quote(`${i}.stdout`)} 2>/dev/null`,
    `  tail -c ${STREAM_TAIL_BYTES} -- "$X${i}E" > "$R"/${quote(`${i}.stderr`)} 2>/dev/null`,
    // TES: a failing executor ends the task unless it may fail (ignore_error).
    ignore ? '  :' : '  if [ "$rc" -ne 0 ]; then stop=1; code=$rc; fi',
    'fi',
  );
  return lines;
}

function envEntries(executor: TesExecutor): Array<[string, string]> {
  return Object.entries(executor.env ?? {});
}

function directCommand(executor: TesExecutor): string {
  const steps: string[] = [];
  if (executor.workdir)
    steps.push(`mkdir -p -- ${quote(executor.workdir)} && cd -- ${quote(executor.workdir)} || exit 126`);
  for (const [key, value] of envEntries(executor)) steps.push(`export ${key}=${quote(value)}`);
  steps.push(`exec ${executor.command.map(quote).join(' ')}`);
  return `( ${steps.join('; ')} )`;
}

/** Bind mounts for docker (`-v`) or singularity (`--bind`): the mount folders, then inputs outside them. */
function bindArgs(job: PreparedJob, flag: string): string[] {
  const args = job.mounts.mounts.map((m, n) => `${flag} "$S"${quote(`/mnt/${n}:${m}`)}`);
  for (const input of job.staged) {
    if (job.mounts.locate(input.path) === null) {
      args.push(`${flag} "$I"${quote(`/${input.name}:${input.path}:ro`)}`);
    }
  }
  return args;
}

function dockerCommand(job: PreparedJob, executor: TesExecutor, i: number): string {
  const args = ['docker', 'run', '--rm', '-i', '--name', quote(containerName(job.plan.job_id, i))];
  if (executor.workdir) args.push('-w', quote(executor.workdir));
  for (const [key, value] of envEntries(executor)) args.push('-e', quote(`${key}=${value}`));
  args.push(...bindArgs(job, '-v'));
  args.push(quote(executor.image.replace(/^docker:\/\//, '')), ...executor.command.map(quote));
  return args.join(' ');
}

/**
 * The unpacked image a CVMFS image root holds for a registry image: Galaxy's convention names it after the
 * reference's last segment, `quay.io/biocontainers/samtools:1.9--h8571acd_11` → `<root>/samtools:1.9--h8571acd_11`.
 * None for digests, which that layout cannot name.
 */
export function cvmfsImagePath(root: string, image: string): string | null {
  if (image.includes('@')) return null;
  const last = image.slice(image.lastIndexOf('/') + 1);
  if (last === '' || last.startsWith('.')) return null;
  return `${root.replace(/\/+$/, '')}/${last.includes(':') ? last : `${last}:latest`}`;
}

function singularityCommand(job: PreparedJob, executor: TesExecutor): string {
  const images = job.plan.images ?? {};
  // Variables reach the container through the runtime's own prefixes, which survive --cleanenv; the cache
  // variables are the runtime's own and tell it where the site keeps pulled images.
  const env = envEntries(executor).flatMap(([key, value]) => [
    quote(`SINGULARITYENV_${key}=${value}`),
    quote(`APPTAINERENV_${key}=${value}`),
  ]);
  if (images.cache_dir) {
    env.push(
      quote(`SINGULARITY_CACHEDIR=${images.cache_dir}`),
      quote(`APPTAINER_CACHEDIR=${images.cache_dir}`),
    );
  }
  const args = env.length > 0 ? ['env', ...env, '"$RT"'] : ['"$RT"'];
  args.push('exec', '--cleanenv');
  if (executor.workdir) args.push('--pwd', quote(executor.workdir));
  args.push(...bindArgs(job, '--bind'));
  const registryImage =
    !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(executor.image) && !executor.image.startsWith('/');
  const image = registryImage ? `docker://${executor.image}` : executor.image;
  const unpacked =
    registryImage && images.cvmfs_root ? cvmfsImagePath(images.cvmfs_root, executor.image) : null;
  if (unpacked === null) {
    args.push(quote(image), ...executor.command.map(quote));
    return args.join(' ');
  }
  // Decided when the executor starts: CVMFS mounts on demand, and a site may publish the image later.
  args.push('"$img"', ...executor.command.map(quote));
  return `img=${quote(image)}; if [ -e ${quote(unpacked)} ]; then img=${quote(unpacked)}; fi; ${args.join(' ')}`;
}
