import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The folder with the Network description and the workload model (bench/sim/data, shared with bench:sim).
 * Found by walking up from this file, so it works from the sources (ts-node) and from dist/ alike.
 */
export function simDataDir(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'bench', 'sim', 'data');
    if (fs.existsSync(path.join(candidate, 'pulsar-network.json'))) return candidate;
    if (path.dirname(dir) === dir) throw new Error('bench/sim/data not found above ' + __dirname);
  }
}
