import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';

/**
 * A one-time file of a self-test: an input the site must fetch from the broker, or the URL an output is
 * delivered to. Kept in PostgreSQL so whichever replica the site reaches (or a CLI run beside a broker)
 * serves it; `touched_at` says the site came for it, and the row dies with the test or at `expires_at`.
 */
@Entity({ name: 'self_test_file' })
@Check('self_test_file_direction_check', `"direction" IN ('input', 'output')`)
@Index('self_test_file_expires_at_idx', ['expiresAt'])
export class SelfTestFileEntity {
  /** Unguessable: the URL's only credential. */
  @PrimaryColumn('text', { primaryKeyConstraintName: 'self_test_file_pkey' })
  token!: string;

  @Column('uuid', { name: 'site_id' })
  siteId!: string;

  // Named, not imported: the registry owns `site`; dispatch only declares its foreign key to it.
  @ManyToOne('SiteEntity', { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'site_id', foreignKeyConstraintName: 'self_test_file_site_id_fkey' })
  site?: unknown;

  @Column('text')
  direction!: 'input' | 'output';

  /** An input's bytes; an output's once delivered. */
  @Column('bytea', { nullable: true })
  content!: Buffer | null;

  /** When the site first fetched the input, or when the output arrived. */
  @Column('timestamptz', { name: 'touched_at', nullable: true })
  touchedAt!: Date | null;

  @Column('timestamptz', { name: 'expires_at' })
  expiresAt!: Date;
}
