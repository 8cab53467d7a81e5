import { readFileSync } from 'node:fs';
import { apiRoutes } from '../../functions/contracts/api-routes.js';
import { buildOpenApiDocument } from '../../functions/contracts/openapi.js';

const committed = JSON.parse(readFileSync(new URL('../../functions/contracts/openapi.json', import.meta.url), 'utf8'));

describe('OpenAPI document', () => {
  const document = buildOpenApiDocument();

  it('is committed and current (run `npm run openapi` after changing a contract)', () => {
    expect(committed).toEqual(JSON.parse(JSON.stringify(document)));
  });

  it('is OpenAPI 3.1 and describes every route of the route table', () => {
    expect(document.openapi).toBe('3.1.0');
    for (const route of apiRoutes) {
      const operation = document.paths?.[route.path]?.[route.method.toLowerCase() as 'get'];
      expect(operation?.operationId).toBe(route.operationId);
      expect(operation?.responses?.[String(route.success.status)]).toBeDefined();
    }
  });

  it('derives request schemas from the zod contracts', () => {
    const create = document.components?.schemas?.WebhookCreate as { required?: string[]; additionalProperties?: boolean };
    expect(create.required).toEqual(expect.arrayContaining(['url', 'events']));
    expect(create.additionalProperties).toBe(false);
  });
});
