import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  ADMIN_BANNER,
  AdminBanner,
  AuthenticatedPrincipal,
  AuthModule,
  PrincipalAdminModule,
  PrincipalAdminService,
  NewPrincipalDto,
  TokenRequestDto,
} from '@constellation/auth';
import { BrokerError, readDocument } from '@constellation/common';
import { AppConfig, ConfigError, ConfigModule, loadConfig } from '@constellation/config';
import {
  dataSourceOptions,
  EmbeddedDatabase,
  embeddedSecretKey,
  runMigrations,
  runningEmbeddedUrl,
  startEmbeddedPostgres,
} from '@constellation/persistence';
import { SelfTestModule, SelfTestService } from '@constellation/dispatch';
import { LoggingModule } from '@constellation/observability';
import {
  RegistryCodeService,
  RegistryModule,
  SITE_ACTIONS,
  SiteAction,
  SiteDocumentDto,
  SiteRegistryService,
} from '@constellation/registry';
import { remoteSelfTest, selfTestReport } from './cli-self-test';
import { ENTITIES, MIGRATIONS } from './schema';
import { RegistryClient, RegistryCommandError, remoteClient, runRegistryCommand } from './registry-cli';

const USAGE = `Constellation operator CLI (uses DATABASE_URL, or the embedded database in CONSTELLATION_DATA_DIR)

  npm run cli -- principal create <name> --role admin|provider|submitter
                 [--max-running-tasks N] [--share-weight W] [--allowed-sites SLUG,SLUG] [--no-token]
  npm run cli -- principal list [--role ROLE]
  npm run cli -- principal show <name|id>
  npm run cli -- token issue <principal name|id> [--description TEXT]     (alias: token create)
  npm run cli -- token list <principal name|id>
  npm run cli -- token revoke <token id>
  npm run cli -- site list [--admin-state STATE] [--health HEALTH] [--kind KIND] [--country CC]
  npm run cli -- site show <slug|id>
  npm run cli -- site register --file site.json --owner <principal name|id>
  npm run cli -- site approve|drain|resume|disable <slug|id> [--reason TEXT]
  npm run cli -- site test <slug|id> [--json] [--url BROKER_URL --token TOKEN]
  npm run cli -- registry export [--format yaml|json]
  npm run cli -- registry apply -f network.yaml [--dry-run] [--prune]

registry commands talk to a remote broker's REST API with --url URL --token TOKEN (or CONSTELLATION_URL and
CONSTELLATION_TOKEN; the token must be an admin's); without a URL they act on the local database as the
bootstrap admin. export prints the document; apply prints its plan (see docs/providers.md).

Site commands act as the bootstrap admin principal (register: as the owner); their events say "via the CLI".

Output is JSON, except site test: a table of its steps (JSON with --json), exit code 1 when a step failed. Site
test runs here against the database unless --url (or CONSTELLATION_URL) names a broker to ask through its API,
with --token (or CONSTELLATION_TOKEN); either way the site fetches the test files from a running broker's
CONSTELLATION_PUBLIC_URL.

A token is printed once, when it is made; only its hash is stored.`;

/** A command prints the admin token only when it just made it, and then without the server's advice. */
@Global()
@Module({
  providers: [{ provide: ADMIN_BANNER, useValue: 'brief' satisfies AdminBanner }],
  exports: [ADMIN_BANNER],
})
class BriefBannerModule {}

@Module({})
class CliModule {
  static forRoot(config: AppConfig, databaseUrl: string, secretKey: string): DynamicModule {
    return {
      module: CliModule,
      imports: [
        ConfigModule.forRoot(config, secretKey),
        // The adapters' metrics live in the observability module, which needs the logging module.
        LoggingModule.forRoot(config.logLevel, config.logFormat),
        BriefBannerModule,
        TypeOrmModule.forRoot(dataSourceOptions(databaseUrl, ENTITIES, MIGRATIONS)),
        AuthModule,
        PrincipalAdminModule,
        RegistryModule,
        SelfTestModule,
      ],
    };
  }
}

/** `--flag value` and `--flag` (boolean) after the positional arguments. */
function parseArgs(argv: string[]): { positional: string[]; flags: Record<string, string | true> } {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-f') {
      // The one short option: `registry apply -f network.yaml`, as kubectl spells it.
      if (argv[i + 1] !== undefined) flags.file = argv[++i];
      else flags.file = true;
    } else if (a.startsWith('--')) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) flags[a.slice(2)] = true;
      else flags[a.slice(2)] = argv[++i];
    } else positional.push(a);
  }
  return { positional, flags };
}

function numberFlag(flags: Record<string, string | true>, name: string): number | string | undefined {
  const v = flags[name];
  if (v === undefined || v === true) return v === true ? '' : undefined;
  // Non-numbers are passed on as strings so the API's validator names the field in its usual words.
  return /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
}

interface CliServices {
  principals: PrincipalAdminService;
  sites: SiteRegistryService;
  selfTests: SelfTestService;
  registryCode: RegistryCodeService;
}

/** Printed as it is, instead of as JSON, with its own exit code. */
class Report {
  constructor(
    readonly text: string,
    readonly exitCode: number,
  ) {}
}

/** The registry commands on this process's database, through the service behind the REST endpoints. */
function localRegistryClient(services: CliServices): RegistryClient {
  return {
    export: () => services.registryCode.export(),
    apply: async (body, o) =>
      services.registryCode.apply(await actingAs(services.principals, 'admin'), body, {
        dryRun: o.dryRun,
        prune: o.prune,
      }),
  };
}

/** The principal a site command acts as, marked so its site events say the change came from the CLI. */
async function actingAs(principals: PrincipalAdminService, ref: string): Promise<AuthenticatedPrincipal> {
  const p = await principals.get(ref);
  return {
    id: p.id,
    name: `${p.name} (via the CLI)`,
    role: p.role,
    allowedSiteIds: p.allowed_site_ids,
    maxRunningTasks: p.max_running_tasks,
    shareWeight: p.share_weight,
    tokenId: '',
  };
}

async function runSite(
  services: CliServices,
  verb: string | undefined,
  target: string | undefined,
  flags: Record<string, string | true>,
): Promise<unknown> {
  const { principals, sites } = services;
  if (verb === 'list') {
    const query: Record<string, unknown> = { page_size: '2047' };
    const filters = { 'admin-state': 'admin_state', health: 'health', kind: 'kind', country: 'country' };
    for (const [flag, param] of Object.entries(filters)) {
      if (flags[flag] !== undefined) query[param] = flags[flag] === true ? '' : flags[flag];
    }
    // The API's shape (GET /api/v1/sites), so scripts read the CLI and the API alike.
    const page = await sites.list(query);
    return { sites: page.items, next_page_token: page.nextPageToken };
  }
  if (verb === 'show') {
    if (!target) throw new UsageError('site show needs a slug or id');
    return sites.get(target);
  }
  if (verb === 'register') {
    if (typeof flags.file !== 'string')
      throw new UsageError('site register needs --file <site document.json>');
    if (typeof flags.owner !== 'string')
      throw new UsageError('site register needs --owner <principal name|id>');
    let body: unknown;
    try {
      body = JSON.parse(readFileSync(flags.file, 'utf8'));
    } catch (err) {
      throw new UsageError(`cannot read ${flags.file}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const owner = await actingAs(principals, flags.owner);
    if (owner.role !== 'provider' && owner.role !== 'admin') {
      throw new UsageError(
        `the owner of a site must be a provider or an admin; ${flags.owner} is a ${owner.role}`,
      );
    }
    return sites.register(owner, readDocument(SiteDocumentDto, body));
  }
  if (verb === 'test') {
    if (!target) throw new UsageError('site test needs a slug or id');
    const admin = await actingAs(principals, 'admin');
    const result = await services.selfTests.test(admin, target);
    if (flags.json) return new Report(`${JSON.stringify(result, null, 2)}\n`, result.ok ? 0 : 1);
    const { text, exitCode } = selfTestReport(target, result);
    return new Report(text, exitCode);
  }
  if (verb !== undefined && (SITE_ACTIONS as readonly string[]).includes(verb)) {
    if (!target) throw new UsageError(`site ${verb} needs a slug or id`);
    const admin = await actingAs(principals, 'admin');
    const reason = typeof flags.reason === 'string' ? flags.reason : undefined;
    return sites.transition(admin, target, verb as SiteAction, reason);
  }
  throw new UsageError(verb ? `unknown command: site ${verb}` : 'site needs a command');
}

async function run(services: CliServices, argv: string[]): Promise<unknown> {
  const service = services.principals;
  const { positional, flags } = parseArgs(argv);
  const [noun, verb, target] = positional;
  if (noun === 'site') return runSite(services, verb, target, flags);
  if (noun === 'registry') {
    const print = (text: string) => process.stdout.write(text);
    await runRegistryCommand(localRegistryClient(services), { verb, flags, env: process.env }, print);
    return new Report('', 0);
  }
  const command = `${noun ?? ''} ${verb ?? ''}`.trim();
  switch (command) {
    case 'principal create': {
      if (!target) throw new UsageError('principal create needs a name');
      const body: Record<string, unknown> = { name: target, role: flags.role === true ? '' : flags.role };
      if (flags['max-running-tasks'] !== undefined)
        body.max_running_tasks = numberFlag(flags, 'max-running-tasks');
      if (flags['share-weight'] !== undefined) body.share_weight = numberFlag(flags, 'share-weight');
      if (typeof flags['allowed-sites'] === 'string') {
        // Slugs or ids, as every other option takes sites; the API stores ids.
        const refs = flags['allowed-sites'].split(',').filter((s) => s !== '');
        body.allowed_site_ids = await Promise.all(
          refs.map(async (ref) => (await services.sites.get(ref)).id),
        );
      }
      if (flags['no-token']) body.issue_token = false;
      else body.token_description = 'issued by the CLI';
      return service.create(readDocument(NewPrincipalDto, body));
    }
    case 'principal list': {
      const query: Record<string, unknown> = { page_size: '2047' };
      if (typeof flags.role === 'string') query.role = flags.role;
      return service.list(query);
    }
    case 'principal show':
      if (!target) throw new UsageError('principal show needs a name or id');
      return service.get(target);
    case 'token issue':
    case 'token create':
      if (!target) throw new UsageError(`${command} needs a principal name or id`);
      return service.issueFor(
        target,
        readDocument(TokenRequestDto, {
          description: typeof flags.description === 'string' ? flags.description : 'issued by the CLI',
        }),
      );
    case 'token list':
      if (!target) throw new UsageError('token list needs a principal name or id');
      return service.listTokens(target);
    case 'token revoke':
      if (!target) throw new UsageError('token revoke needs a token id');
      await service.revoke(target);
      return { revoked: target };
    default:
      throw new UsageError(command ? `unknown command: ${command}` : 'no command given');
  }
}

class UsageError extends Error {}

/** `site test` against a broker's API (--url or CONSTELLATION_URL); null for every command run locally. */
async function remoteCommand(argv: string[]): Promise<Report | null> {
  const { positional, flags } = parseArgs(argv);
  const url = typeof flags.url === 'string' ? flags.url : process.env.CONSTELLATION_URL;
  if (positional[0] !== 'site' || positional[1] !== 'test' || !url) return null;
  const slug = positional[2];
  const token = typeof flags.token === 'string' ? flags.token : process.env.CONSTELLATION_TOKEN;
  if (!slug || !token) {
    return new Report(
      `site test with --url needs a slug and --token (or CONSTELLATION_TOKEN)\n\n${USAGE}\n`,
      2,
    );
  }
  try {
    const result = await remoteSelfTest(url, token, slug);
    if (flags.json) return new Report(`${JSON.stringify(result, null, 2)}\n`, result.ok ? 0 : 1);
    const { text, exitCode } = selfTestReport(slug, result);
    return new Report(text, exitCode);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return new Report('', 1);
  }
}

/** `registry` commands with --url or CONSTELLATION_URL: no database, only the remote broker's REST API. */
async function runRemote(argv: string[]): Promise<number | undefined> {
  const { positional, flags } = parseArgs(argv);
  if (positional[0] !== 'registry') return undefined;
  const url = typeof flags.url === 'string' ? flags.url : process.env.CONSTELLATION_URL;
  if (url === undefined || url === '') return undefined;
  const token = typeof flags.token === 'string' ? flags.token : process.env.CONSTELLATION_TOKEN;
  if (token === undefined || token === '') {
    process.stderr.write(
      `registry commands against ${url} need an admin token: --token or CONSTELLATION_TOKEN\n`,
    );
    return 2;
  }
  try {
    const print = (text: string) => process.stdout.write(text);
    await runRegistryCommand(
      remoteClient(url, token),
      { verb: positional[1], flags, env: process.env },
      print,
    );
    return 0;
  } catch (err) {
    if (!(err instanceof RegistryCommandError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  const remote = await remoteCommand(argv);
  if (remote !== null) {
    process.stdout.write(remote.text);
    return remote.exitCode;
  }
  const remoteRegistry = await runRemote(argv);
  if (remoteRegistry !== undefined) return remoteRegistry;
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  let secretKey = config.secretKey;
  if (databaseUrl === undefined) {
    databaseUrl = runningEmbeddedUrl(config.dataDir);
    if (databaseUrl === undefined) {
      embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, log: () => undefined });
      databaseUrl = embedded.url;
    }
    secretKey ??= await embeddedSecretKey(config.dataDir);
  }
  try {
    await runMigrations(databaseUrl, ENTITIES, MIGRATIONS);
    const ctx = await NestFactory.createApplicationContext(
      CliModule.forRoot(config, databaseUrl, secretKey as string),
      { logger: ['error'] },
    );
    try {
      const result = await run(
        {
          principals: ctx.get(PrincipalAdminService),
          sites: ctx.get(SiteRegistryService),
          selfTests: ctx.get(SelfTestService),
          registryCode: ctx.get(RegistryCodeService),
        },
        argv,
      );
      if (result instanceof Report) {
        process.stdout.write(result.text);
        return result.exitCode;
      }
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return 0;
    } catch (err) {
      if (err instanceof RegistryCommandError) {
        process.stderr.write(`${err.message}\n`);
        return 1;
      }
      if (err instanceof UsageError) {
        process.stderr.write(`${err.message}\n\n${USAGE}\n`);
        return 2;
      }
      if (err instanceof BrokerError) {
        const details = err.errors.map((e) => `\n  ${e.path || '(body)'}: ${e.reason}`).join('');
        process.stderr.write(`${err.code}: ${err.message}${details}\n`);
        return 1;
      }
      throw err;
    } finally {
      await ctx.close();
    }
  } finally {
    await embedded?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
