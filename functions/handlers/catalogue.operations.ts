import { z } from 'zod';
import { eventCatalogue } from '../contracts/event-catalogue.js';
import { buildOpenApiDocument } from '../contracts/openapi.js';
import type { Operations } from './http/api-handler.js';

/** Read-only, storage-free routes: the event-type catalogue and the OpenAPI document. */
export const catalogueOperations = () => {
  const eventTypes = {
    data: eventCatalogue.map((eventType) => ({
      name: eventType.name,
      description: eventType.description,
      inUse: eventType.inUse,
      subscribable: eventType.subscribable,
      example: eventType.example,
      schema: z.toJSONSchema(eventType.schema, { target: 'draft-2020-12' }),
    })),
  };
  const openApi = buildOpenApiDocument();
  return {
    listEventTypes: async () => ({ statusCode: 200, body: eventTypes }),
    getOpenApi: async () => ({ statusCode: 200, body: openApi }),
  } satisfies Operations;
};
