import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Where task inputs live (an object store, a Galaxy server's job-files API); placement weighs distance to it. */
@Entity({ name: 'data_store' })
export class DataStoreEntity {
  @PrimaryColumn('uuid', { primaryKeyConstraintName: 'data_store_pkey' })
  id!: string;

  @Index('data_store_name_key', { unique: true })
  @Column('text')
  name!: string;

  /** URL prefixes that identify the store's data, e.g. https://usegalaxy.eu/api/jobs/ or s3://bucket/. */
  @Column('text', { name: 'url_prefixes', array: true })
  urlPrefixes!: string[];

  @Column('text')
  country!: string;

  @Column('double precision', { nullable: true })
  latitude!: number | null;

  @Column('double precision', { nullable: true })
  longitude!: number | null;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;
}
