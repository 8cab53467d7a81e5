import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const IV_BYTES = 12;
const TAG_BYTES = 16;

/** AES-256-GCM under `key`: a fresh 12-byte iv, and the ciphertext followed by its 16-byte tag. */
export const gcmSeal = (key: Uint8Array, plaintext: Uint8Array, additionalData: Uint8Array) => {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES }).setAAD(additionalData);
  return { iv, sealed: Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]) };
};

/**
 * The plaintext of what `gcmSeal` made. Throws for another key or additional data, any alteration, and an iv or
 * tag of another length: always the whole tag, since GCM would check a truncated one, which is far easier to forge.
 */
export const gcmOpen = (key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, additionalData: Uint8Array): Buffer => {
  if (iv.length !== IV_BYTES || sealed.length < TAG_BYTES) throw new Error('not a sealed value: iv or tag of the wrong length');
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES })
    .setAAD(additionalData)
    .setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
};
