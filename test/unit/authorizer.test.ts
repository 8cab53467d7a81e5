import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import type { ApiKeyRecord, ApiKeyRepository } from '../../functions/domain/api-key.js';
import { hashApiKey } from '../../functions/domain/api-key.js';
import { createAuthorizer, presentedApiKey } from '../../functions/handlers/authorizer.js';

describe('presentedApiKey', () => {
  it.each([
    [{ 'x-api-key': 'k1' }],
    [{ 'X-API-Key': 'k1' }],
    [{ Authorization: 'Bearer k1' }],
    [{ authorization: 'bearer   k1' }],
    [{ 'x-api-token': 'k1' }],
    [{ 'X-ApiKey': 'k1' }],
  ])('reads the key from %j', (headers) => {
    expect(presentedApiKey(headers)).toBe('k1');
  });

  it('finds no key in other authorization schemes or empty headers', () => {
    expect(presentedApiKey({ Authorization: 'Basic azE6' })).toBeUndefined();
    expect(presentedApiKey({ 'x-api-key': '  ' })).toBeUndefined();
    expect(presentedApiKey(null)).toBeUndefined();
  });
});

describe('authorizer', () => {
  // An in-memory key table stands in for DynamoDB here; the DynamoDB repository has its own suite.
  const record = (overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
    keyId: 'key_1',
    tenantId: 'acme',
    keyHash: hashApiKey('secret-key'),
    scopes: ['webhooks:read'],
    createdAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  });
  const keysWith = (stored: ApiKeyRecord): ApiKeyRepository => ({
    findByHash: async (hash) => (hash === stored.keyHash ? stored : undefined),
    create: async () => undefined,
    listByTenant: async () => [stored],
    revoke: async () => true,
  });
  const event = (headers: Record<string, string>) =>
    ({
      type: 'REQUEST',
      methodArn: 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/v1/webhooks',
      headers,
    }) as unknown as APIGatewayRequestAuthorizerEvent;

  it('allows a known key with the tenant and scopes as context, for every route of the stage', async () => {
    const result = await createAuthorizer(keysWith(record()))(event({ 'x-api-key': 'secret-key' }));
    expect(result.context).toEqual({ tenantId: 'acme', keyId: 'key_1', scopes: 'webhooks:read' });
    expect(result.policyDocument.Statement[0]).toMatchObject({
      Effect: 'Allow',
      Resource: 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*/*',
    });
  });

  it.each([
    ['no key', {}],
    ['an unknown key', { 'x-api-key': 'other-key' }],
  ])('answers Unauthorized (401) for %s', async (_case, headers) => {
    await expect(createAuthorizer(keysWith(record()))(event(headers))).rejects.toThrow('Unauthorized');
  });

  it('answers Unauthorized for a revoked key', async () => {
    const revoked = record({ revokedAt: '2026-02-01T00:00:00.000Z' });
    await expect(createAuthorizer(keysWith(revoked))(event({ 'x-api-key': 'secret-key' }))).rejects.toThrow('Unauthorized');
  });
});
