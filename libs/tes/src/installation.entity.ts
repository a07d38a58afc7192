import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One row: when this Constellation installation was created (service-info `createdAt`). */
@Entity({ name: 'installation' })
export class InstallationEntity {
  @PrimaryColumn('smallint', { primaryKeyConstraintName: 'installation_pkey' })
  id!: number;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;
}
