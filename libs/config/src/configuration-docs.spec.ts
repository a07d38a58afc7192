import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** The variables named in the README's configuration table. */
function tableNames(): Set<string> {
  const section = read('README.md').split('## Configuration')[1].split('\n## ')[0];
  const names = new Set<string>();
  for (const row of section.split('\n').filter((l) => l.startsWith('| `'))) {
    for (const m of row.split('|')[1].matchAll(/`([A-Z][A-Z0-9_]+)`/g)) names.add(m[1]);
  }
  return names;
}

describe('configuration documentation', () => {
  it('documents in the README every variable the broker reads, and no other', () => {
    const source = read('libs/config/src/load-config.ts');
    const read_ = new Set(
      [...source.matchAll(/'((?:CONSTELLATION_|LOG_)[A-Z0-9_]+|PORT|HOST|DATABASE_URL|AMQP_URL)'/g)].map(
        (m) => m[1],
      ),
    );
    expect([...tableNames()].sort()).toEqual([...read_].sort());
  });

  it('lists every variable of the table in .env.example, as scripts/env-example.js writes it', () => {
    const example = read('.env.example');
    const listed = new Set([...example.matchAll(/^# ([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
    expect([...listed].sort()).toEqual([...tableNames()].sort());
  });
});
