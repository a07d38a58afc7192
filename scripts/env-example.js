#!/usr/bin/env node
// Writes .env.example from the README's configuration table, so the two never disagree:
//   node scripts/env-example.js > .env.example
const fs = require('node:fs');
const path = require('node:path');

const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Configuration'));
const lines = [
  '# Constellation configuration: every variable the broker reads, with its default.',
  "# Copy to .env (or your service manager's environment file) and uncomment what you change.",
  '# The README\'s "Configuration" table says more about each one.',
  '',
];
for (const row of section.split('\n')) {
  const cells = row.split('|').map((c) => c.trim());
  if (cells.length < 4 || !cells[1].startsWith('`')) continue;
  const names = [...cells[1].matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]);
  const defaults = cells[2].split(names.length > 1 ? / \/ |, / : /$^/).map((d) => d.trim());
  const meaning = cells[3].replace(/\[([^\]]+)\]\([^)]+\)/g, '$1').replace(/`/g, '');
  lines.push(`# ${meaning}`);
  names.forEach((name, i) => {
    const given = (defaults[i] ?? defaults[0] ?? '').replace(/`/g, '');
    const plain = /^[^\s:;]+$/.test(given) && !/^(unset|empty|generated)/.test(given);
    lines.push(plain ? `# ${name}=${given}` : `# ${name}=    (default: ${given})`);
  });
  lines.push('');
}
process.stdout.write(lines.join('\n'));
