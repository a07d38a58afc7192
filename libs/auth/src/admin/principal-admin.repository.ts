import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BrokerError, ErrorCode, isUuid, newId } from '@constellation/common';
import { ApiTokenEntity } from '../api-token.entity';
import { Role } from '../authenticated-principal';
import { PrincipalEntity } from '../principal.entity';
import { PrincipalDescription } from './principal-document';

export interface PrincipalPage {
  pageSize: number;
  after?: string;
  role?: Role;
}

/** Admin-side SQL over principal and api_token (the guard's lookups stay in AuthRepository). */
@Injectable()
export class PrincipalAdminRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** By id, or by name when the reference is not a UUID. */
  findPrincipal(ref: string): Promise<PrincipalEntity | null> {
    const where = isUuid(ref) ? { id: ref.toLowerCase() } : { name: ref };
    return this.db.getRepository(PrincipalEntity).findOne({ where });
  }

  listPrincipals(p: PrincipalPage): Promise<PrincipalEntity[]> {
    const q = this.db.getRepository(PrincipalEntity).createQueryBuilder('p');
    if (p.role) q.andWhere('p.role = :role', { role: p.role });
    if (p.after) q.andWhere('p.id > :after', { after: p.after });
    return q
      .orderBy('p.id', 'ASC')
      .limit(p.pageSize + 1)
      .getMany();
  }

  async updatePrincipal(id: string, d: PrincipalDescription): Promise<PrincipalEntity> {
    await this.db.getRepository(PrincipalEntity).update(
      { id },
      {
        role: d.role,
        allowedSiteIds: d.allowedSiteIds,
        maxRunningTasks: d.maxRunningTasks,
        shareWeight: d.shareWeight,
        homeDataStoreId: d.homeDataStoreId,
      },
    );
    return this.db.getRepository(PrincipalEntity).findOneOrFail({ where: { id } });
  }

  /** Read as SQL: the registry's entity is above auth. */
  async dataStoreExists(id: string): Promise<boolean> {
    const rows: unknown[] = await this.db.query('SELECT 1 FROM data_store WHERE id = $1', [id]);
    return rows.length > 0;
  }

  countAdmins(): Promise<number> {
    return this.db.getRepository(PrincipalEntity).count({ where: { role: 'admin' } });
  }

  /** Deletes the principal and (by cascade) its tokens; a principal that owns sites or tasks is a 409. */
  async deletePrincipal(id: string): Promise<void> {
    try {
      await this.db.query('DELETE FROM principal WHERE id = $1', [id]);
    } catch (err) {
      const e = err as { driverError?: { code?: string }; code?: string };
      // 23503 foreign_key_violation; PostgreSQL 18 reports ON DELETE RESTRICT as 23001 restrict_violation.
      if (['23503', '23001'].includes(e.driverError?.code ?? e.code ?? '')) {
        throw new BrokerError(
          ErrorCode.Conflict,
          'this principal still owns sites or tasks; revoke its tokens instead, or disable its sites first',
        );
      }
      throw err;
    }
  }

  listTokens(principalId: string): Promise<ApiTokenEntity[]> {
    return this.db.getRepository(ApiTokenEntity).find({ where: { principalId }, order: { id: 'ASC' } });
  }

  findToken(id: string): Promise<ApiTokenEntity | null> {
    return this.db.getRepository(ApiTokenEntity).findOne({ where: { id } });
  }

  /**
   * Revokes token `oldId` and stores `newHash` for the same principal in one transaction, so a rotation
   * never leaves the caller with two live tokens or with none. Null if `oldId` was already revoked.
   */
  async rotate(
    oldId: string,
    newHash: Buffer,
    description: string,
    now: Date,
  ): Promise<ApiTokenEntity | null> {
    return this.db.transaction(async (m) => {
      // TypeORM answers an UPDATE with [rows, affected count].
      const [rows]: [{ principal_id: string }[], number] = await m.query(
        `UPDATE api_token SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING principal_id`,
        [oldId, now],
      );
      if (rows.length === 0) return null;
      const token = m.getRepository(ApiTokenEntity).create({
        id: newId(),
        principalId: rows[0].principal_id,
        tokenHash: newHash,
        description,
        lastUsedAt: null,
        revokedAt: null,
      });
      return m.getRepository(ApiTokenEntity).save(token);
    });
  }
}
