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

  /**
   * The broker may HEAD this store's URLs for their size even when the query carries a credential (a
   * signature, token or key): set only where such a request neither leaks nor spends the credential.
   */
  @Column('boolean', { name: 'head_signed_urls', default: false })
  headSignedUrls!: boolean;

  @Column('double precision', { nullable: true })
  latitude!: number | null;

  @Column('double precision', { nullable: true })
  longitude!: number | null;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;
}
