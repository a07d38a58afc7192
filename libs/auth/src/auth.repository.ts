import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { newId } from '@constellation/common';
import { withTransientRetry } from '@constellation/persistence';
import { ApiTokenEntity } from './api-token.entity';
import { PrincipalEntity } from './principal.entity';
import type { Role } from './authenticated-principal';

export interface TokenWithPrincipal {
  token: ApiTokenEntity;
  principal: PrincipalEntity;
}

export interface NewPrincipal {
  name: string;
  role: Role;
  allowedSiteIds?: string[];
  maxRunningTasks?: number | null;
  shareWeight?: number;
  homeDataStoreId?: string | null;
}

// Two replicas starting together must create one admin, not two.
const BOOTSTRAP_LOCK_KEY = 7_245_002;
// last_used_at is informational: write it at most once a minute per token, not on every request.
const TOUCH_INTERVAL_SECONDS = 60;

@Injectable()
export class AuthRepository {
  private readonly lastTouched = new Map<string, number>();

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** One indexed lookup per request: the token by its hash, with its principal. */
  async findActiveToken(hash: Buffer): Promise<TokenWithPrincipal | null> {
    const rows = (await withTransientRetry(
      () =>
        this.db.query(
          `SELECT t.id AS token_id, t.revoked_at, p.id, p.name, p.role, p.allowed_site_ids, p.max_running_tasks,
                  p.share_weight, p.home_data_store_id, p.created_at, p.updated_at
           FROM api_token t JOIN principal p ON p.id = t.principal_id
           WHERE t.token_hash = $1`,
          [hash],
        ),
      { label: 'token lookup' },
    )) as Array<Record<string, unknown>>;
    const row = rows[0];
    if (!row || row.revoked_at !== null) return null;
    const principal = Object.assign(new PrincipalEntity(), {
      id: row.id as string,
      name: row.name as string,
      role: row.role as Role,
      allowedSiteIds: row.allowed_site_ids as string[],
      maxRunningTasks: row.max_running_tasks as number | null,
      shareWeight: Number(row.share_weight),
      homeDataStoreId: row.home_data_store_id as string | null,
      createdAt: row.created_at as Date,
      updatedAt: row.updated_at as Date,
    });
    const token = Object.assign(new ApiTokenEntity(), {
      id: row.token_id as string,
      principalId: principal.id,
      revokedAt: null,
    });
    return { token, principal };
  }

  /** Records use of a token; this replica skips the write when it recorded one in the last minute. */
  async touchToken(id: string, now: Date): Promise<void> {
    const last = this.lastTouched.get(id);
    if (last !== undefined && now.getTime() - last < TOUCH_INTERVAL_SECONDS * 1000) return;
    this.lastTouched.set(id, now.getTime());
    if (this.lastTouched.size > 100_000) this.lastTouched.clear();
    // Idempotent (it only moves last_used_at forward to `now`), so safe to run again after a lost connection.
    await withTransientRetry(
      () =>
        this.db.query(
          `UPDATE api_token SET last_used_at = $2
           WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2::timestamptz - make_interval(secs => $3::int))`,
          [id, now, TOUCH_INTERVAL_SECONDS],
        ),
      { label: 'token use' },
    );
  }

  findPrincipalByName(
    name: string,
    manager: EntityManager = this.db.manager,
  ): Promise<PrincipalEntity | null> {
    return manager.getRepository(PrincipalEntity).findOne({ where: { name } });
  }

  async insertPrincipal(p: NewPrincipal, manager: EntityManager = this.db.manager): Promise<PrincipalEntity> {
    const entity = manager.getRepository(PrincipalEntity).create({
      id: newId(),
      name: p.name,
      role: p.role,
      allowedSiteIds: p.allowedSiteIds ?? [],
      maxRunningTasks: p.maxRunningTasks ?? null,
      shareWeight: p.shareWeight ?? 1,
      homeDataStoreId: p.homeDataStoreId ?? null,
    });
    return manager.getRepository(PrincipalEntity).save(entity);
  }

  async insertToken(
    principalId: string,
    hash: Buffer,
    description: string,
    manager: EntityManager = this.db.manager,
  ): Promise<ApiTokenEntity> {
    const entity = manager.getRepository(ApiTokenEntity).create({
      id: newId(),
      principalId,
      tokenHash: hash,
      description,
      lastUsedAt: null,
      revokedAt: null,
    });
    return manager.getRepository(ApiTokenEntity).save(entity);
  }

  countActiveTokens(principalId: string, manager: EntityManager = this.db.manager): Promise<number> {
    return manager
      .createQueryBuilder(ApiTokenEntity, 't')
      .where('t.principal_id = :principalId AND t.revoked_at IS NULL', { principalId })
      .getCount();
  }

  async tokenState(
    hash: Buffer,
    manager: EntityManager = this.db.manager,
  ): Promise<'absent' | 'active' | 'revoked'> {
    const token = await manager.getRepository(ApiTokenEntity).findOne({ where: { tokenHash: hash } });
    if (!token) return 'absent';
    return token.revokedAt === null ? 'active' : 'revoked';
  }

  async setRole(principalId: string, role: Role, manager: EntityManager = this.db.manager): Promise<void> {
    await manager.getRepository(PrincipalEntity).update({ id: principalId }, { role });
  }

  async revokeToken(id: string, now: Date): Promise<boolean> {
    // TypeORM answers UPDATE with [rows, affected count].
    const [, affected] = (await this.db.query(
      'UPDATE api_token SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL',
      [id, now],
    )) as [unknown[], number];
    return affected > 0;
  }

  /** Runs `work` in a transaction holding the bootstrap advisory lock (released at commit). */
  withBootstrapLock<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK_KEY]);
      return work(manager);
    });
  }
}
