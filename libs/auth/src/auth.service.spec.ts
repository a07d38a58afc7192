import { BrokerError } from '@constellation/common';
import { ApiTokenEntity } from './api-token.entity';
import { AuthRepository, TokenWithPrincipal } from './auth.repository';
import { AUTH_CACHE_MS, AuthService } from './auth.service';
import { PrincipalEntity } from './principal.entity';
import { generateToken } from './token-codec';

describe('AuthService token lookups', () => {
  const token = generateToken();
  const found: TokenWithPrincipal = {
    token: Object.assign(new ApiTokenEntity(), { id: 'token-1', principalId: 'p-1', revokedAt: null }),
    principal: Object.assign(new PrincipalEntity(), {
      id: 'p-1',
      name: 'galaxy-eu',
      role: 'submitter',
      allowedSiteIds: [],
      maxRunningTasks: null,
      shareWeight: 1,
    }),
  };
  let lookups: Array<TokenWithPrincipal | null>;
  let auth: AuthService;
  const findActiveToken = jest.fn();

  beforeEach(() => {
    lookups = [found, null];
    findActiveToken.mockReset().mockImplementation(async () => lookups.shift() ?? null);
    const repo = {
      findActiveToken,
      touchToken: jest.fn(async () => undefined),
      revokeToken: jest.fn(async () => true),
    } as unknown as AuthRepository;
    auth = new AuthService(repo);
  });

  const at = (ms: number) => auth.authenticate({ scheme: 'bearer', token }, new Date(ms));

  it('reuses a successful lookup for up to AUTH_CACHE_MS, then asks the database again', async () => {
    await expect(at(10_000)).resolves.toMatchObject({ id: 'p-1', tokenId: 'token-1' });
    await expect(at(10_000 + AUTH_CACHE_MS - 1)).resolves.toMatchObject({ id: 'p-1' });
    expect(findActiveToken).toHaveBeenCalledTimes(1);
    // The second database answer says the token is gone (revoked on another replica).
    await expect(at(10_000 + AUTH_CACHE_MS)).rejects.toThrow('invalid or revoked token');
    expect(findActiveToken).toHaveBeenCalledTimes(2);
  });

  it('forgets every lookup when a token is revoked through this replica', async () => {
    await at(10_000);
    await auth.revokeToken('token-1', new Date(10_001));
    await expect(at(10_002)).rejects.toBeInstanceOf(BrokerError);
    expect(findActiveToken).toHaveBeenCalledTimes(2);
  });

  it('never caches a failed lookup', async () => {
    lookups = [null, null, found];
    await expect(at(10_000)).rejects.toThrow('invalid or revoked token');
    await expect(at(10_001)).rejects.toThrow('invalid or revoked token');
    await expect(at(10_002)).resolves.toMatchObject({ id: 'p-1' });
    expect(findActiveToken).toHaveBeenCalledTimes(3);
  });
});
