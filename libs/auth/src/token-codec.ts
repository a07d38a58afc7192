import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Tokens are 32 random bytes in base64url (43 characters): URL-safe because Galaxy's TES runner carries
 * them inside its URL (`https://name:token@host/ga4gh/tes`).
 */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

const TOKEN_RE = /^[A-Za-z0-9_-]{32,256}$/;

export function looksLikeToken(value: string): boolean {
  return TOKEN_RE.test(value);
}
