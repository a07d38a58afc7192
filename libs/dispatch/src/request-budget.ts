import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@constellation/config';

/** What one take from a site's budget allows. */
export interface BudgetTake {
  /** How many of the wanted requests may be sent now. */
  granted: number;
  /**
   * Turns one budget interval apart, in order: first one for each request not granted, then, while turns are
   * queued, one for each granted request's next check (so every check gets its turn, round robin).
   */
  turns: Date[];
  /** The database's clock at the take: the turns are on it, not on this replica's clock. */
  now: Date;
}

/** Takes made again after another replica's write came between the read and the write, before giving up. */
const MAX_TRIES = 20;

/** `count` turns `intervalMs` apart, the first one interval after `from`. */
export function turnsAfter(from: Date, count: number, intervalMs: number): Date[] {
  return Array.from({ length: count }, (_, i) => new Date(from.getTime() + (i + 1) * intervalMs));
}

/**
 * A site's request budget (CONSTELLATION_SITE_REQUESTS_PER_SECOND) for the whole broker: a token bucket per
 * site in PostgreSQL, refilled by the database's clock, at most a second's worth at once, that every replica
 * takes from. A replica takes all it wants for a pass in one UPDATE (so the database is asked once per site and
 * pass, not per request), and turns for the requests the bucket could not take, one interval apart after every
 * turn any replica was handed. The take is optimistic: it names the row's version it read, and is made again
 * when another replica's take came between, so two replicas never spend the same tokens.
 */
@Injectable()
export class RequestBudget {
  private readonly perSecond: number;
  private readonly capacity: number;
  private readonly intervalMs: number;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.perSecond = config.siteRequestsPerSecond;
    this.capacity = Math.max(1, this.perSecond);
    this.intervalMs = 1000 / this.perSecond;
  }

  /** Takes up to `wanted` requests to the site from the shared budget, and turns for the rest. */
  async take(siteId: string, wanted: number): Promise<BudgetTake> {
    if (wanted <= 0) return { granted: 0, turns: [], now: new Date() };
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const taken = await this.tryTake(siteId, wanted);
      if (taken)
        return {
          granted: taken.granted,
          turns: turnsAfter(taken.from, taken.turns, this.intervalMs),
          now: taken.now,
        };
      // No row yet (the site's first take) or another replica's take came between: the row as it is now.
      await this.db.query(
        `INSERT INTO site_request_budget (site_id, tokens, refilled_at, next_turn_at)
         VALUES ($1, $2, clock_timestamp(), to_timestamp(0))
         ON CONFLICT (site_id) DO NOTHING`,
        [siteId, this.capacity],
      );
    }
    throw new Error(`the request budget of site ${siteId} was contended ${MAX_TRIES} times in a row`);
  }

  private async tryTake(
    siteId: string,
    wanted: number,
  ): Promise<{ granted: number; turns: number; from: Date; now: Date } | null> {
    // TypeORM answers an UPDATE ... RETURNING with [rows, affected].
    const [rows]: [{ granted: number; turns: number; turns_from: Date; now: Date }[], number] =
      await this.db.query(
        `UPDATE site_request_budget b
       SET tokens = g.refilled - g.granted,
           refilled_at = g.now,
           next_turn_at = g.turns_from + make_interval(secs => g.turns * $5::float8 / 1000),
           -- Only ever compared for equality with what the take read: it may wrap.
           version = (b.version + 1) % 1000000000
       FROM (
         SELECT r.*, least($2::int, floor(r.refilled))::int AS granted,
                greatest(r.next_turn_at, r.now) AS turns_from,
                CASE WHEN r.next_turn_at > r.now THEN $2::int
                     ELSE $2::int - least($2::int, floor(r.refilled))::int END AS turns
         FROM (
           SELECT site_id, version, next_turn_at, now,
                  least($3::float8,
                        tokens + greatest(0, extract(epoch FROM now - refilled_at))::float8 * $4::float8)
                    AS refilled
           FROM site_request_budget, clock_timestamp() AS now
           WHERE site_id = $1) r
       ) g
       WHERE b.site_id = g.site_id AND b.version = g.version
       RETURNING g.granted, g.turns, g.turns_from, g.now`,
        [siteId, wanted, this.capacity, this.perSecond, this.intervalMs],
      );
    return rows.length === 0 ? null : { ...rows[0], from: rows[0].turns_from };
  }
}
