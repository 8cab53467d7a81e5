import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { DATA_KEY_ENCRYPTION_CONTEXT } from './data-key-context.js';
import type { DataKeySource } from './envelope-vault.js';

/** Data keys from KMS: GenerateDataKey (AES-256) and Decrypt, both under the one key of the stateful stack. */
export class KmsDataKeys implements DataKeySource {
  constructor(
    private readonly kms: KMSClient,
    private readonly keyId: string,
  ) {}

  async generate() {
    const { Plaintext, CiphertextBlob } = await this.kms.send(
      new GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', EncryptionContext: { ...DATA_KEY_ENCRYPTION_CONTEXT } }),
    );
    if (!Plaintext || !CiphertextBlob) throw new Error('GenerateDataKey returned no key');
    return { plaintext: Plaintext, encrypted: CiphertextBlob };
  }

  async decrypt(encrypted: Uint8Array) {
    const { Plaintext } = await this.kms.send(
      new DecryptCommand({ KeyId: this.keyId, CiphertextBlob: encrypted, EncryptionContext: { ...DATA_KEY_ENCRYPTION_CONTEXT } }),
    );
    if (!Plaintext) throw new Error('Decrypt returned no key');
    return Plaintext;
  }
}
