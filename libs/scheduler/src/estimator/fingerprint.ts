import {
  ExecutorShape,
  GalaxyJobMessage,
  isGalaxyPulsarTask,
  isPulsarStagingExecutor,
  readGalaxyJobMessage,
} from './galaxy-job-message';

/**
 * What identifies "the same tool" across tasks, so run times learned from one can estimate the next. `key` is
 * what the broker stores statistics under; `label` is how the estimate and the placement explanation name it.
 */
export interface Fingerprint {
  key: string;
  label: string;
}

/** Keys beyond this are cut: a task with dozens of executors is still the same tool when its prefix is. */
export const MAX_FINGERPRINT_CHARS = 500;
/** Words of a command that name the tool: `bwa mem`, `samtools sort`, `python snakemake`. */
const COMMAND_WORDS = 2;
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ash']);

function basename(word: string): string {
  const slash = word.lastIndexOf('/');
  return slash >= 0 ? word.slice(slash + 1) : word;
}

/** The image without transport prefix or digest, lowercased: `docker://Foo/bar:1@sha256:..` is `foo/bar:1`. */
export function normalizeImage(image: string): string {
  const bare = image.trim().replace(/^(docker|oras|library|shub):\/\//i, '');
  const at = bare.indexOf('@');
  return (at >= 0 ? bare.slice(0, at) : bare).toLowerCase();
}

/**
 * The tool and version an image names, where it follows the biocontainers convention
 * (`quay.io/biocontainers/bwa-mem2:2.2.1--hd03093a_2` is `bwa-mem2 2.2.1`); otherwise its last path segment.
 */
export function imageLabel(image: string): string {
  const last = basename(normalizeImage(image));
  const colon = last.indexOf(':');
  if (colon < 0) return last;
  const name = last.slice(0, colon);
  const tag = last.slice(colon + 1).split('--')[0];
  return tag === '' || tag === 'latest' ? name : `${name} ${tag}`;
}

/** Words that are arguments rather than the tool: flags, paths, assignments, quoted or numeric values. */
function isToolWord(word: string): boolean {
  return (
    word !== '' &&
    !word.startsWith('-') &&
    !word.includes('/') &&
    !word.includes('=') &&
    !/^['"$.{(]/.test(word) &&
    !/^\d/.test(word)
  );
}

/**
 * The first words of a command that name what it runs. A shell running a script (`bash -c "bwa mem ..."`)
 * is named by the script's words. Snakemake's jobs all run `python -m snakemake`: the rule they run
 * (`--allowed-rules R`, or `--target-jobs 'R:...'`) is what tells one from another.
 */
export function commandWords(command: readonly string[]): string {
  if (command.length === 0) return '';
  const program = basename(command[0]);
  const script = SHELLS.has(program) ? command.slice(1).find((w, i, a) => a[i - 1] === '-c') : undefined;
  const words = script !== undefined ? script.trim().split(/\s+/) : [program, ...command.slice(1)];
  const picked = [basename(words[0] ?? '')];
  for (const w of words.slice(1)) {
    // A pipe or redirection ends the command: what follows is another program.
    if (picked.length >= COMMAND_WORDS || /^(\d*[<>]|[|&;])/.test(w)) break;
    if (isToolWord(w)) picked.push(w);
  }
  const all = script !== undefined ? words : command;
  const ruleAt = all.findIndex((w) => w === '--allowed-rules' || w === '--target-jobs');
  if (ruleAt >= 0 && all[ruleAt + 1] !== undefined) {
    picked.push(`rule:${all[ruleAt + 1].replace(/^['"]/, '').split(/[:'"]/)[0]}`);
  }
  return picked.filter((w) => w !== '').join(' ');
}

function cut(s: string): string {
  return s.length > MAX_FINGERPRINT_CHARS ? s.slice(0, MAX_FINGERPRINT_CHARS) : s;
}

/** Galaxy's tool id without the tool shed path: `toolshed.../repos/iuc/bwa_mem2/bwa_mem2/2.2.1` is `bwa_mem2`. */
function shortToolId(toolId: string): string {
  const parts = toolId.split('/');
  return parts.length >= 2 ? parts[parts.length - 2] : toolId;
}

function galaxyFingerprint(
  executors: readonly ExecutorShape[],
  message: GalaxyJobMessage | undefined,
): Fingerprint | undefined {
  const toolImages = executors.filter((e) => !isPulsarStagingExecutor(e)).map((e) => normalizeImage(e.image));
  const toolId = message?.toolId;
  if (toolId === undefined && toolImages.length === 0) return undefined;
  const version = message?.toolVersion;
  const key = ['galaxy', toolId === undefined ? '' : `${toolId}@${version ?? ''}`, ...toolImages].join(' ');
  const label =
    toolId !== undefined
      ? `${shortToolId(toolId)}${version !== undefined ? ` ${version}` : ''}`
      : toolImages.map(imageLabel).join(' + ');
  return { key: cut(key), label: cut(label) };
}

/**
 * The task's fingerprint, or undefined when nothing in it names a tool (no executor with an image).
 *
 * - A Galaxy Pulsar task (first executor `pulsar-submit`): Galaxy's tool id and version from the job message
 *   when it can be read, and the tool container's image; the staging image and its arguments (job ids,
 *   keys, paths) are the same for every tool and left out.
 * - Any other task: per executor, its image and the first words of its command.
 */
export function taskFingerprint(executors: readonly ExecutorShape[]): Fingerprint | undefined {
  if (executors.length === 0) return undefined;
  if (isGalaxyPulsarTask(executors)) return galaxyFingerprint(executors, readGalaxyJobMessage(executors));
  const parts = executors.map((e) => ({
    image: normalizeImage(e.image),
    words: commandWords(e.command),
  }));
  const key = parts.map((p) => `${p.image} ${p.words}`.trim()).join(' | ');
  const label = parts.map((p) => `${p.words || imageLabel(p.image)} (${imageLabel(p.image)})`).join(' + ');
  return { key: cut(key), label: cut(label) };
}
