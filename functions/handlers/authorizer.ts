import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { type ApiKeyRepository, authenticate } from '../domain/api-key.js';

/** Header names that may carry the API key, lower-case; the seeds' APIs use each of them. */
const API_KEY_HEADERS = ['x-api-key', 'x-api-token', 'x-apikey'] as const;

/** The key a request presents: `x-api-key`, `Authorization: Bearer`, `x-api-token` or `X-ApiKey`. */
export const presentedApiKey = (headers: Record<string, string | undefined> | null): string | undefined => {
  const lowerCased = new Map(Object.entries(headers ?? {}).map(([name, value]) => [name.toLowerCase(), value?.trim()]));
  for (const name of API_KEY_HEADERS) {
    const value = lowerCased.get(name);
    if (value) return value;
  }
  const bearer = /^Bearer\s+(\S+)$/i.exec(lowerCased.get('authorization') ?? '');
  return bearer?.[1];
};

/**
 * The REST API's Lambda REQUEST authorizer. Unknown, revoked or missing keys throw `Unauthorized`, which API
 * Gateway answers with 401; known keys get an Allow policy with the tenant and scopes as context.
 */
export const createAuthorizer =
  (keys: ApiKeyRepository) =>
  async (event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
    const key = presentedApiKey(event.headers);
    const principal = key === undefined ? undefined : await authenticate(keys, key);
    if (!principal) throw new Error('Unauthorized');
    // Allow every method of this stage: results are not cached per route, and scopes are checked per route.
    const [arnPrefix, stage] = event.methodArn.split('/');
    return {
      principalId: `${principal.tenantId}/${principal.keyId}`,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: `${arnPrefix}/${stage}/*/*` }],
      },
      context: { tenantId: principal.tenantId, keyId: principal.keyId, scopes: principal.scopes.join(' ') },
    };
  };
