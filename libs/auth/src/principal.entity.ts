import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { Role } from './authenticated-principal';

@Entity({ name: 'principal' })
@Check('principal_role_check', `"role" IN ('admin', 'provider', 'submitter')`)
@Check('principal_share_weight_check', `"share_weight" > 0`)
export class PrincipalEntity {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'principal_pkey' })
  id!: string;

  @Index('principal_name_key', { unique: true })
  @Column('text')
  name!: string;

  @Column('text')
  role!: Role;

  @Column('uuid', { name: 'allowed_site_ids', array: true, default: () => "'{}'" })
  allowedSiteIds!: string[];

  @Column('integer', { name: 'max_running_tasks', nullable: true })
  maxRunningTasks!: number | null;

  @Column('double precision', { name: 'share_weight', default: 1 })
  shareWeight!: number;

  /**
   * The data store the submitter's data lives in (a Galaxy's own storage): placement counts inputs it cannot
   * attribute to any store as read from here. Not a foreign key: auth sits below the registry.
   */
  @Column('uuid', { name: 'home_data_store_id', nullable: true })
  homeDataStoreId!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
