import type { Clock, CredentialsVault } from '../../domain/ports.js';
import { gcmOpen, gcmSeal } from './aes-gcm.js';

/** Where data keys come from: KMS (`KmsDataKeys`). */
export interface DataKeySource {
  /** A new 256-bit data key, in plaintext and encrypted under the key-encryption key. */
  generate(): Promise<{ readonly plaintext: Uint8Array; readonly encrypted: Uint8Array }>;
  /** The plaintext of a data key that `generate` returned encrypted. */
  decrypt(encrypted: Uint8Array): Promise<Uint8Array>;
}

/** How long a container keeps data keys in memory: the bound on key-service calls, and on a revoked key's reach. */
export interface DataKeyLimits {
  /** A data key seals values for at most this long after it was generated, and opens them for at most this long after it was decrypted... */
  readonly maxAgeMs: number;
  /** ...seals at most this many values... */
  readonly maxSeals: number;
  /** ...and at most this many decrypted data keys are kept (the least recently decrypted go first). */
  readonly maxOpenKeys: number;
}

/**
 * Each write-API container makes a data key per `maxAgeMs`, so a worker meets many: 10,000 decrypted keys (32 bytes
 * each, with their ~250-character encrypted form as the cache key, under 3 MB) keep it at one Decrypt per data key
 * per `maxAgeMs`, not one per delivery.
 */
export const DEFAULT_DATA_KEY_LIMITS: DataKeyLimits = { maxAgeMs: 15 * 60_000, maxSeals: 10_000, maxOpenKeys: 10_000 };

const FORMAT = 'v1';

interface SealingKey {
  readonly key: Promise<{ readonly plaintext: Uint8Array; readonly encrypted: Uint8Array }>;
  readonly expiresAt: number;
  seals: number;
}

/**
 * Envelope encryption: each value is sealed with AES-256-GCM under a data key, and the data key, encrypted by the
 * key service, travels with it: `v1.<encrypted data key>.<iv>.<ciphertext and tag>` (base64url). The context is the
 * GCM additional data, so a value opens only for what it was sealed for. Data keys are cached within `limits`, so
 * that sealing and opening make no key-service call per value: one GenerateDataKey per container per `maxAgeMs` or
 * `maxSeals`, one Decrypt per distinct data key per `maxAgeMs`.
 */
export class EnvelopeVault implements CredentialsVault {
  private sealing: SealingKey | undefined;
  private readonly opening = new Map<string, { readonly key: Promise<Uint8Array>; readonly expiresAt: number }>();

  constructor(
    private readonly dataKeys: DataKeySource,
    private readonly clock: Clock,
    private readonly limits: DataKeyLimits = DEFAULT_DATA_KEY_LIMITS,
  ) {}

  async seal(plaintext: string, context: string): Promise<string> {
    const { plaintext: key, encrypted } = await this.sealingKey();
    const { iv, sealed } = gcmSeal(key, Buffer.from(plaintext, 'utf8'), Buffer.from(context, 'utf8'));
    return [FORMAT, Buffer.from(encrypted).toString('base64url'), iv.toString('base64url'), sealed.toString('base64url')].join('.');
  }

  async open(sealed: string, context: string): Promise<string> {
    const [format, encryptedKey, iv, body, ...rest] = sealed.split('.');
    if (format !== FORMAT || !encryptedKey || iv === undefined || body === undefined || rest.length > 0) {
      throw new Error('not a sealed value of this vault');
    }
    const key = await this.openingKey(encryptedKey);
    const opened = gcmOpen(key, Buffer.from(iv, 'base64url'), Buffer.from(body, 'base64url'), Buffer.from(context, 'utf8'));
    return opened.toString('utf8');
  }

  private sealingKey() {
    const now = this.clock.now().getTime();
    if (!this.sealing || this.sealing.expiresAt <= now || this.sealing.seals >= this.limits.maxSeals) {
      const sealing: SealingKey = { key: this.dataKeys.generate(), expiresAt: now + this.limits.maxAgeMs, seals: 0 };
      // A failed call is not kept: the next seal asks again.
      sealing.key.catch(() => {
        if (this.sealing === sealing) this.sealing = undefined;
      });
      this.sealing = sealing;
    }
    this.sealing.seals += 1;
    return this.sealing.key;
  }

  private openingKey(encryptedKey: string): Promise<Uint8Array> {
    const now = this.clock.now().getTime();
    const cached = this.opening.get(encryptedKey);
    this.opening.delete(encryptedKey);
    if (cached && cached.expiresAt > now) {
      this.opening.set(encryptedKey, cached); // most recently used last
      return cached.key;
    }
    const key = this.dataKeys.decrypt(Buffer.from(encryptedKey, 'base64url'));
    key.catch(() => {
      if (this.opening.get(encryptedKey)?.key === key) this.opening.delete(encryptedKey);
    });
    this.opening.set(encryptedKey, { key, expiresAt: now + this.limits.maxAgeMs });
    for (const oldest of this.opening.keys()) {
      if (this.opening.size <= this.limits.maxOpenKeys) break;
      this.opening.delete(oldest);
    }
    return key;
  }
}
