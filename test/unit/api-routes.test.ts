import { apiRoutes, matchRoute } from '../../functions/contracts/api-routes.js';

describe('matchRoute', () => {
  it('resolves a templated path and decodes its parameters', () => {
    const match = matchRoute('GET', '/v1/webhooks/wh_1%3A2');
    expect(match).toMatchObject({ kind: 'route', route: { operationId: 'getWebhook' }, pathParameters: { id: 'wh_1:2' } });
  });

  it('tolerates a trailing slash', () => {
    expect(matchRoute('POST', '/v1/webhooks/')).toMatchObject({ kind: 'route', route: { operationId: 'createWebhook' } });
  });

  it('lists the allowed methods when the path exists with other methods', () => {
    expect(matchRoute('POST', '/v1/webhooks/wh_1')).toEqual({
      kind: 'methodNotAllowed',
      allow: ['GET', 'PATCH', 'PUT', 'DELETE'],
    });
  });

  it('reports unknown paths and malformed percent-encoding as not found', () => {
    expect(matchRoute('GET', '/v2/webhooks')).toEqual({ kind: 'notFound' });
    expect(matchRoute('GET', '/v1/webhooks/%E0%A4%A')).toEqual({ kind: 'notFound' });
  });

  it('gives every route a unique method and path, and only the OpenAPI document is public', () => {
    const keys = apiRoutes.map((route) => `${route.method} ${route.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(apiRoutes.filter((route) => route.scope === null).map((route) => route.operationId)).toEqual(['getOpenApi']);
  });
});
