/**
 * What a take from the shared per-site request budget costs: REPLICAS (2) data sources, as replicas, each
 * taking TAKES (1000) times back to back from one site's bucket (the worst case: a replica takes once per
 * site and tracking pass). Prints latency, client CPU, statements per take (a take that lost the race is
 * made again) and the requests granted against what the bucket allows. On a scratch database
 * `budgets_bench` of the PostgreSQL server at BENCH_ADMIN_URL, dropped afterwards.
 *   npx ts-node --transpile-only -r tsconfig-paths/register bench/request-budget/run.ts
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions, runMigrations } from '@constellation/persistence';
import { ENTITIES, MIGRATIONS } from '../../apps/broker/src/schema';
import { RequestBudget } from '../../libs/dispatch/src/request-budget';

const ADMIN = process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const URL_ = (() => {
  const u = new URL(ADMIN);
  u.pathname = '/budgets_bench';
  return u.toString();
})();
const TAKES = Number(process.env.TAKES ?? 1000);

async function main() {
  const admin = new Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query('DROP DATABASE IF EXISTS budgets_bench WITH (FORCE)');
  await admin.query('CREATE DATABASE budgets_bench');
  await admin.end();
  await runMigrations(URL_, ENTITIES, MIGRATIONS);
  const site = randomUUID();
  const c = new Client({ connectionString: URL_ });
  await c.connect();
  // The bucket row alone; its site row is beside the point here.
  await c.query('SET session_replication_role = replica');
  await c.query(
    `INSERT INTO site_request_budget (site_id, tokens, refilled_at, next_turn_at) VALUES ($1, 20, now(), to_timestamp(0))`,
    [site],
  );
  await c.end();
  const config = { siteRequestsPerSecond: 20 } as never;
  const replicas = await Promise.all(
    Array.from({ length: Number(process.env.REPLICAS ?? 2) }, (_, i) => i).map(async () => {
      const ds = await new DataSource(dataSourceOptions(URL_, ENTITIES, MIGRATIONS)).initialize();
      let updates = 0;
      const q = ds.query.bind(ds);
      ds.query = ((sql: string, p?: unknown[]) => {
        if (sql.trimStart().startsWith('UPDATE')) updates++;
        return q(sql, p);
      }) as typeof ds.query;
      return { ds, budget: new RequestBudget(ds, config), updates: () => updates };
    }),
  );
  const lat: number[] = [];
  let granted = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    replicas.map(async (r) => {
      for (let i = 0; i < TAKES; i++) {
        const s = performance.now();
        const take = await r.budget.take(site, 50);
        lat.push(performance.now() - s);
        granted += take.granted;
      }
    }),
  );
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  lat.sort((a, b) => a - b);
  const updates = replicas.reduce((n, r) => n + r.updates(), 0);
  console.log(
    JSON.stringify({
      takes: replicas.length * TAKES,
      wall_s: +wallS.toFixed(2),
      takes_per_s: Math.round((replicas.length * TAKES) / wallS),
      p50_ms: +lat[Math.floor(lat.length / 2)].toFixed(2),
      p99_ms: +lat[Math.floor(lat.length * 0.99)].toFixed(2),
      client_cpu_us_per_take: Math.round((cpu.user + cpu.system) / (replicas.length * TAKES)),
      update_statements_per_take: +(updates / (replicas.length * TAKES)).toFixed(3),
      granted,
      granted_bound: Math.ceil(20 + wallS * 20),
    }),
  );
  for (const r of replicas) await r.ds.destroy();
  const a2 = new Client({ connectionString: ADMIN });
  await a2.connect();
  await a2.query('DROP DATABASE IF EXISTS budgets_bench WITH (FORCE)');
  await a2.end();
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
