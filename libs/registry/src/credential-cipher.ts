import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { RUNTIME_SECRET_KEY } from '@constellation/config';

/** What a site needs to accept our calls: a token (Pulsar private_token, TES bearer) or a user and password. */
export interface SiteCredentials {
  token?: string;
  username?: string;
  password?: string;
}

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM for site credentials at rest. The key is derived (HKDF-SHA256) from CONSTELLATION_SECRET_KEY
 * with its own label, so the same secret can derive other keys (job-files URLs) without reuse. The site id
 * is the additional authenticated data: a ciphertext copied onto another site's row fails to decrypt.
 */
@Injectable()
export class CredentialCipher {
  private readonly key: Buffer;

  constructor(@Inject(RUNTIME_SECRET_KEY) secretKey: string) {
    this.key = Buffer.from(
      hkdfSync('sha256', Buffer.from(secretKey, 'utf8'), 'constellation', 'site-credentials/v1', 32),
    );
  }

  encrypt(siteId: string, credentials: SiteCredentials): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(siteId, 'utf8'));
    const body = Buffer.concat([cipher.update(JSON.stringify(credentials), 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
  }

  decrypt(siteId: string, sealed: Buffer): SiteCredentials {
    if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) {
      throw new Error(`credentials of site ${siteId} are not in a known format`);
    }
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(Buffer.from(siteId, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      const plain = Buffer.concat([
        decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)),
        decipher.final(),
      ]);
      return JSON.parse(plain.toString('utf8')) as SiteCredentials;
    } catch {
      // Never include the ciphertext or what was decrypted: only that the key or the row is wrong.
      throw new Error(
        `credentials of site ${siteId} cannot be decrypted: CONSTELLATION_SECRET_KEY differs from the one that stored them`,
      );
    }
  }
}
