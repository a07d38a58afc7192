import { Injectable } from '@nestjs/common';
import { BrokerError, ErrorCode } from '@constellation/common';
import { AuthenticatedPrincipal } from './authenticated-principal';
import { AuthRepository, NewPrincipal, TokenWithPrincipal } from './auth.repository';
import { PresentedCredentials } from './credentials';
import { PrincipalEntity } from './principal.entity';
import { generateToken, hashToken, looksLikeToken } from './token-codec';

export interface IssuedToken {
  tokenId: string;
  principalId: string;
  /** Shown once, at creation; only its hash is stored. */
  token: string;
}

function unauthenticated(message: string): BrokerError {
  return new BrokerError(ErrorCode.Unauthenticated, message, [], {
    'WWW-Authenticate': 'Bearer realm="constellation", Basic realm="constellation", charset="UTF-8"',
  });
}

/**
 * How long a successful token lookup is reused by this replica. Revocations, role changes and deletions
 * made through this replica's API clear the cache at once; made on another replica (or in SQL) they take
 * effect within this time. One second keeps that window short while Galaxy's once-a-second polling of
 * thousands of jobs, all with one token, costs one lookup a second instead of one per request.
 */
export const AUTH_CACHE_MS = 1000;
const AUTH_CACHE_MAX_ENTRIES = 10_000;

interface CachedLookup {
  found: TokenWithPrincipal;
  expiresAt: number;
}

export function toAuthenticated(principal: PrincipalEntity, tokenId: string): AuthenticatedPrincipal {
  return {
    id: principal.id,
    name: principal.name,
    role: principal.role,
    allowedSiteIds: principal.allowedSiteIds,
    maxRunningTasks: principal.maxRunningTasks,
    shareWeight: principal.shareWeight,
    tokenId,
  };
}

@Injectable()
export class AuthService {
  // Keyed by the token's SHA-256, never the token itself; failed lookups are not cached, so every wrong
  // guess still reaches the database and the failed-login limit.
  private readonly recent = new Map<string, CachedLookup>();

  constructor(private readonly repo: AuthRepository) {}

  /** Resolves presented credentials to a principal, or throws 401 with a reason that never echoes them. */
  async authenticate(credentials: PresentedCredentials, now: Date): Promise<AuthenticatedPrincipal> {
    switch (credentials.scheme) {
      case 'none':
        throw unauthenticated(
          'authentication required: send Authorization: Bearer <token> or Basic <name:token>',
        );
      case 'malformed':
        throw unauthenticated(`malformed Authorization header: ${credentials.reason}`);
      case 'bearer':
      case 'basic': {
        if (!looksLikeToken(credentials.token)) throw unauthenticated('invalid or revoked token');
        const found = await this.findActiveToken(hashToken(credentials.token), now.getTime());
        if (!found) throw unauthenticated('invalid or revoked token');
        if (credentials.scheme === 'basic' && credentials.principalName !== found.principal.name) {
          throw unauthenticated('the user name does not match the token');
        }
        await this.repo.touchToken(found.token.id, now);
        return toAuthenticated(found.principal, found.token.id);
      }
    }
  }

  /** Drops every cached lookup; called after anything that revokes a token or changes a principal. */
  forgetCachedLookups(): void {
    this.recent.clear();
  }

  private async findActiveToken(hash: Buffer, now: number): Promise<TokenWithPrincipal | null> {
    const key = hash.toString('base64');
    const hit = this.recent.get(key);
    if (hit && hit.expiresAt > now) return hit.found;
    const found = await this.repo.findActiveToken(hash);
    if (found) {
      if (this.recent.size >= AUTH_CACHE_MAX_ENTRIES) this.recent.clear();
      this.recent.set(key, { found, expiresAt: now + AUTH_CACHE_MS });
    } else {
      this.recent.delete(key);
    }
    return found;
  }

  async createPrincipal(p: NewPrincipal): Promise<PrincipalEntity> {
    if (await this.repo.findPrincipalByName(p.name)) {
      throw new BrokerError(ErrorCode.Conflict, `a principal named ${p.name} already exists`);
    }
    return this.repo.insertPrincipal(p);
  }

  async issueToken(principalId: string, description = ''): Promise<IssuedToken> {
    const token = generateToken();
    const saved = await this.repo.insertToken(principalId, hashToken(token), description);
    return { tokenId: saved.id, principalId, token };
  }

  async revokeToken(tokenId: string, now: Date): Promise<void> {
    const revoked = await this.repo.revokeToken(tokenId, now);
    this.forgetCachedLookups();
    if (!revoked) throw new BrokerError(ErrorCode.TokenNotFound, `no active token ${tokenId}`);
  }

  /**
   * Ensures the principal `admin` exists with a usable token: the configured one if given, otherwise a new
   * one when the admin has none (returned so the caller can print it once). Serialised across replicas.
   */
  async bootstrapAdmin(
    configuredToken: string | undefined,
  ): Promise<{ generated?: string; warnings: string[] }> {
    // The admin may just have become an admin again, and a configured token may have been revoked.
    this.forgetCachedLookups();
    return this.repo.withBootstrapLock(async (manager) => {
      const warnings: string[] = [];
      const admin =
        (await this.repo.findPrincipalByName('admin', manager)) ??
        (await this.repo.insertPrincipal({ name: 'admin', role: 'admin' }, manager));
      if (admin.role !== 'admin') {
        // The bootstrap principal is the way back in: it is an admin whatever an API call made of it.
        await this.repo.setRole(admin.id, 'admin', manager);
        warnings.push(`the principal "admin" had the role ${admin.role}; it is an admin again`);
      }
      if (configuredToken !== undefined) {
        const hash = hashToken(configuredToken);
        const state = await this.repo.tokenState(hash, manager);
        if (state === 'absent') {
          await this.repo.insertToken(admin.id, hash, 'CONSTELLATION_ADMIN_TOKEN', manager);
        } else if (state === 'revoked') {
          warnings.push(
            'CONSTELLATION_ADMIN_TOKEN was revoked (rotated?) and is not accepted; set the current one',
          );
        }
        return { warnings };
      }
      if ((await this.repo.countActiveTokens(admin.id, manager)) > 0) return { warnings };
      const token = generateToken();
      await this.repo.insertToken(admin.id, hashToken(token), 'generated at first start', manager);
      return { generated: token, warnings };
    });
  }
}
