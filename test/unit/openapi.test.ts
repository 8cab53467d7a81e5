import { readFileSync } from 'node:fs';
import { apiRoutes } from '../../functions/contracts/api-routes.js';
import { AWS_REGION_PATTERN, CURSOR_PATTERN, WEBHOOK_URL_PATTERN } from '../../functions/contracts/common.schema.js';
import { eventCatalogue } from '../../functions/contracts/event-catalogue.js';
import { buildOpenApiDocument } from '../../functions/contracts/openapi.js';
import { openApiDocumentFor } from '../../functions/contracts/openapi-deployment.js';
import { WebhookCreate, WebhookListQuery, WebhookPatch } from '../../functions/contracts/webhook.schema.js';


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

  it('tells who publishes each event type, as a described enum', () => {
    const eventType = document.components?.schemas?.EventType as {
      required?: string[];
      properties?: Record<string, { enum?: string[]; description?: string }>;
    };
    expect(eventType.required).toContain('publishedBy');
    expect(eventType.properties?.publishedBy).toEqual({
      type: 'string',
      enum: ['producers', 'platform'],
      description: expect.stringContaining('EventBridge'),
    });
  });
});

describe('OpenAPI document: every rule the API validates is stated', () => {
  const document = buildOpenApiDocument() as unknown as OpenApi;
  const schemas = document.components.schemas;
  const operation = (path: string, method: string) => document.paths[path]![method]!;
  const parameter = (path: string, method: string, name: string) =>
    operation(path, method).parameters!.find((candidate) => candidate.name === name)!;

  it('lists the catalogue names webhooks can subscribe to, without ping, as the enum of events', () => {
    const names = eventCatalogue.filter((eventType) => eventType.subscribable).map((eventType) => eventType.name);
    for (const schema of ['WebhookCreate', 'WebhookPatch']) expect(schemas[schema]!.properties!.events!.items).toEqual({ type: 'string', enum: names });
    expect(names).not.toContain('ping');
  });

  it('gives url its format, length and grammar on create and on update, and the API applies the same grammar', () => {
    for (const schema of ['WebhookCreate', 'WebhookPatch']) {
      expect(schemas[schema]!.properties!.url).toMatchObject({ type: 'string', format: 'uri', maxLength: 2048, pattern: WEBHOOK_URL_PATTERN.source });
    }
    const accepted = ['https://example.com/hooks?a=1#x', 'http://127.0.0.1:8080/', 'https://[::1]/x', 'HTTPS://Example.COM', 'https://a_b.example/%20'];
    const refused = ['https://example.com/a b', 'https://example.com/%zz', 'https://1.2.3/', 'https://a.1/', 'https://example.com:65536/', 'ftp://example.com', ' https://example.com', 'https://user:pw@example.com/'];
    for (const url of accepted) {
      expect(url).toMatch(WEBHOOK_URL_PATTERN);
      expect(WebhookCreate.safeParse({ url, events: ['order.created'] }).success).toBe(true);
      expect(WebhookPatch.safeParse({ url }).success).toBe(true);
    }
    for (const url of refused) {
      expect(url).not.toMatch(WEBHOOK_URL_PATTERN);
      expect(WebhookCreate.safeParse({ url, events: ['order.created'] }).success).toBe(false);
      expect(WebhookPatch.safeParse({ url }).success).toBe(false);
    }
  });

  it('states the cursor format, the page size bounds and the record key rules', () => {
    for (const path of ['/v1/webhooks', '/v1/webhooks/{id}/deliveries']) {
      expect(parameter(path, 'get', 'cursor').schema).toMatchObject({ type: 'string', pattern: CURSOR_PATTERN.source });
      expect(parameter(path, 'get', 'limit').schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 100, default: 20 });
    }
    expect(WebhookListQuery.safeParse({ limit: '1e1' }).success).toBe(false);
    expect(WebhookListQuery.parse({ limit: '007' }).limit).toBe(7);
    expect(schemas.WebhookCreate!.properties!.filters).toMatchObject({ maxProperties: 20, propertyNames: { pattern: '^[A-Za-z0-9_.:-]{1,64}$' } });
    expect(schemas.WebhookCreate!.properties!.metadata).toMatchObject({ maxProperties: 50, propertyNames: { minLength: 1, maxLength: 64 } });
    expect(schemas.WebhookCreate!.properties!.headers).toMatchObject({ maxProperties: 10, propertyNames: { type: 'string' } });
  });

  it('counts lengths in characters, as JSON Schema does, and refuses blank names', () => {
    const emoji = '\u{1F600}';
    expect(WebhookCreate.safeParse({ url: 'https://example.com', events: ['order.created'], description: emoji.repeat(500) }).success).toBe(true);
    expect(WebhookCreate.safeParse({ url: 'https://example.com', events: ['order.created'], description: emoji.repeat(501) }).success).toBe(false);
    expect(WebhookCreate.safeParse({ url: 'https://example.com', events: ['order.created'], name: '\u00a0\ufeff ' }).success).toBe(false);
    expect(WebhookCreate.parse({ url: 'https://example.com', events: ['order.created'], name: ' orders ' }).name).toBe('orders');
  });

  it('marks the rotate body optional, as the API accepts none, and every other body required', () => {
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, { requestBody }] of Object.entries(methods)) {
        if (requestBody) expect([`${method} ${path}`, requestBody.required]).toEqual([`${method} ${path}`, path !== '/v1/webhooks/{id}/secret/rotate']);
      }
    }
  });

  it('lists exactly the errors each route can answer', () => {
    const statuses = (path: string, method: string) => Object.keys(operation(path, method).responses).sort();
    expect(statuses('/v1/openapi.json', 'get')).toEqual(['200', '400', '500']);
    expect(statuses('/v1/webhooks/{id}/secret/rotate', 'post')).toEqual(['200', '400', '401', '403', '404', '413', '415', '500']);
    expect(statuses('/v1/webhooks/{id}', 'patch')).toEqual(['200', '400', '401', '403', '404', '409', '412', '413', '415', '500']);
    expect(statuses('/v1/webhooks', 'post')).toEqual(['201', '400', '401', '403', '409', '413', '415', '500']);
  });

  it('names every header the API key may come in, and the If-Match format', () => {
    expect(Object.values(document.components.securitySchemes).map((scheme) => scheme.name ?? scheme.scheme)).toEqual([
      'x-api-key',
      'bearer',
      'x-api-token',
      'X-ApiKey',
    ]);
    expect(parameter('/v1/webhooks/{id}', 'patch', 'If-Match')).toMatchObject({ in: 'header', required: false, schema: { pattern: '^(?:W\\/)?"[0-9]+"$' } });
  });

  it('states region names; each deployment serves its own region as the one value, and https only unless it allows http', () => {
    expect(parameter('/v1/webhooks', 'get', 'region').schema).toMatchObject({ pattern: AWS_REGION_PATTERN.source });
    for (const region of ['us-east-1', 'eu-central-2', 'us-gov-west-1', 'ap-southeast-5']) expect(region).toMatch(AWS_REGION_PATTERN);

    const served = openApiDocumentFor(document, { region: 'eu-west-1', allowHttpUrls: false });
    for (const methods of Object.values(served.paths)) {
      for (const { parameters = [] } of Object.values(methods)) {
        expect(parameters.find((candidate) => candidate.name === 'region')?.schema).toMatchObject({ enum: ['eu-west-1'] });
      }
    }
    const httpsOnly = new RegExp(served.components.schemas.WebhookCreate!.properties!.url!.pattern!);
    expect('https://example.com').toMatch(httpsOnly);
    expect('http://example.com').not.toMatch(httpsOnly);
    expect(served.components.schemas.WebhookPatch!.properties!.url!.pattern).toBe(httpsOnly.source);
    const local = openApiDocumentFor(document, { region: 'us-east-1', allowHttpUrls: true });
    expect(local.components.schemas.WebhookCreate!.properties!.url!.pattern).toBe(WEBHOOK_URL_PATTERN.source);
    expect(document.components.schemas.WebhookCreate!.properties!.url!.pattern).toBe(WEBHOOK_URL_PATTERN.source);
  });
});

interface JsonSchema {
  type?: string;
  enum?: string[];
  pattern?: string;
  properties?: Record<string, JsonSchema & { items?: JsonSchema }>;
}
interface OpenApi {
  components: {
    schemas: Record<string, JsonSchema>;
    securitySchemes: Record<string, { name?: string; scheme?: string }>;
  };
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: { name: string; in: string; required?: boolean; schema?: JsonSchema }[];
        requestBody?: { required?: boolean };
        responses: Record<string, unknown>;
      }
    >
  >;
}
