/**
 * The encryption context of every data key the platform asks KMS for: a data key of this platform decrypts only
 * for this purpose, the functions' grants are conditioned on it, and CloudTrail shows it.
 */
export const DATA_KEY_ENCRYPTION_CONTEXT = { purpose: 'webhook-credentials' } as const;
