import { safeErrorSerializer } from './logging.module';

describe('safeErrorSerializer', () => {
  it('drops bound query parameters (encrypted credentials, token hashes) and keeps the rest', () => {
    const err = Object.assign(new Error('duplicate key value violates unique constraint "site_slug_key"'), {
      query: 'INSERT INTO site (slug, credentials) VALUES ($1, $2)',
      parameters: ['it-bari', 'sealed-credentials'],
      driverError: { code: '23505', parameters: ['it-bari', 'sealed-credentials'] },
    });
    const out = safeErrorSerializer(err);
    expect(JSON.stringify(out)).not.toContain('sealed-credentials');
    expect(out.message).toBe('duplicate key value violates unique constraint "site_slug_key"');
    expect(out.query).toBe('INSERT INTO site (slug, credentials) VALUES ($1, $2)');
    expect(out.driverError).toEqual({ code: '23505' });
  });
});
