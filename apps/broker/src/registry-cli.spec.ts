import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { ApplyResult } from '@constellation/registry';
import { RegistryClient, runRegistryCommand } from './registry-cli';

const EMPTY_PLAN: ApplyResult = {
  dry_run: false,
  prune: false,
  applied: false,
  summary: { create: 0, update: 0, drain: 0, remove: 0 },
  changes: [],
  unlisted: { sites: [], data_stores: [] },
};

const site = (slug: string, extra: Record<string, unknown> = {}) => ({
  slug,
  display_name: slug,
  country: 'DE',
  kind: 'tes',
  url: `https://${slug}.example.org/`,
  ...extra,
});

const ignore = (): void => undefined;

/** Records the request the CLI would send; the endpoint itself is tested end to end. */
function recorder(): { client: RegistryClient; sent: Record<string, unknown>[] } {
  const sent: Record<string, unknown>[] = [];
  return {
    sent,
    client: {
      export: () => Promise.reject(new Error('not used')),
      apply: (body) => {
        sent.push(body);
        return Promise.resolve(EMPTY_PLAN);
      },
    },
  };
}

describe('registry apply (CLI side)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'registry-cli-'));

  it('sends the secrets of credentials_file and of environment variables beside the document', async () => {
    writeFileSync(path.join(dir, 'secrets.yaml'), stringify({ 'b-site': { username: 'u', password: 'p' } }));
    const file = path.join(dir, 'network.yaml');
    writeFileSync(
      file,
      stringify({
        version: 1,
        credentials_file: 'secrets.yaml',
        sites: [site('a-site', { credentials: { token_env: 'A_TOKEN' } }), site('b-site')],
      }),
    );
    const { client, sent } = recorder();
    let out = '';
    await runRegistryCommand(
      client,
      { verb: 'apply', flags: { file }, env: { A_TOKEN: 'from-env' } },
      (text) => (out += text),
    );
    expect(out).toBe('No changes: the registry matches network.yaml.\n');
    expect(sent[0].site_credentials).toEqual({
      'a-site': { token: 'from-env' },
      'b-site': { username: 'u', password: 'p' },
    });
  });

  it('refuses a secret given both ways, and a missing credentials_file, before sending anything', async () => {
    writeFileSync(path.join(dir, 'both.yaml'), stringify({ 'a-site': { token: 'file' } }));
    const file = path.join(dir, 'twice.yaml');
    writeFileSync(
      file,
      stringify({
        credentials_file: 'both.yaml',
        sites: [site('a-site', { credentials: { token_env: 'A_TOKEN' } })],
      }),
    );
    const { client, sent } = recorder();
    await expect(
      runRegistryCommand(client, { verb: 'apply', flags: { file }, env: { A_TOKEN: 'x' } }, ignore),
    ).rejects.toThrow(
      'twice.yaml: sites[0] (a-site): credentials: site a-site is also in credentials_file; give its secrets one way',
    );
    const missing = path.join(dir, 'missing.yaml');
    writeFileSync(missing, stringify({ credentials_file: 'nowhere.yaml', sites: [] }));
    await expect(
      runRegistryCommand(client, { verb: 'apply', flags: { file: missing }, env: {} }, ignore),
    ).rejects.toThrow(`cannot read credentials_file ${path.join(dir, 'nowhere.yaml')}: ENOENT`);
    expect(sent).toEqual([]);
  });

  it('names the line of a document that is not YAML', async () => {
    const file = path.join(dir, 'broken.yaml');
    writeFileSync(file, 'sites:\n  - slug: a\n   bad: [\n');
    await expect(
      runRegistryCommand(recorder().client, { verb: 'apply', flags: { file }, env: {} }, ignore),
    ).rejects.toThrow(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: not valid YAML or JSON: `),
    );
  });
});
