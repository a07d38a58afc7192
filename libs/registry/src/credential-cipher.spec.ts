import { CredentialCipher } from './credential-cipher';

describe('CredentialCipher', () => {
  const siteId = '01935d1c-0000-7000-8000-000000000001';
  const cipher = new CredentialCipher('k'.repeat(64));

  it('round-trips credentials and never stores them in clear', () => {
    const sealed = cipher.encrypt(siteId, { token: 'pulsar-private-token-123' });
    expect(sealed.includes(Buffer.from('pulsar-private-token-123'))).toBe(false);
    expect(sealed[0]).toBe(1);
    expect(cipher.decrypt(siteId, sealed)).toEqual({ token: 'pulsar-private-token-123' });
  });

  it('uses a fresh IV each time', () => {
    const a = cipher.encrypt(siteId, { username: 'u', password: 'p' });
    const b = cipher.encrypt(siteId, { username: 'u', password: 'p' });
    expect(a.equals(b)).toBe(false);
  });

  it('refuses a ciphertext moved to another site', () => {
    const sealed = cipher.encrypt(siteId, { token: 'secret-token-value' });
    expect(() => cipher.decrypt('01935d1c-0000-7000-8000-000000000002', sealed)).toThrow(
      'credentials of site 01935d1c-0000-7000-8000-000000000002 cannot be decrypted: CONSTELLATION_SECRET_KEY differs from the one that stored them',
    );
  });

  it('refuses a ciphertext made under another secret key, without echoing it', () => {
    const sealed = new CredentialCipher('z'.repeat(64)).encrypt(siteId, { token: 'secret-token-value' });
    let message = '';
    try {
      cipher.decrypt(siteId, sealed);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/cannot be decrypted/);
    expect(message).not.toContain('secret-token-value');
  });

  it('refuses a tampered ciphertext', () => {
    const sealed = cipher.encrypt(siteId, { token: 'secret-token-value' });
    sealed[sealed.length - 1] ^= 0xff;
    expect(() => cipher.decrypt(siteId, sealed)).toThrow(/cannot be decrypted/);
  });
});
