import * as z from 'zod';
import { eventCatalogue } from '../contracts/event-catalogue.js';
// The committed document (`npm run openapi`; a test keeps it current): generating it here would load the generator
// into the function, ~50 ms of its cold start.
import openApiDocument from '../contracts/openapi.json' with { type: 'json' };
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
  return {
    listEventTypes: async () => ({ statusCode: 200, body: eventTypes }),
    getOpenApi: async () => ({ statusCode: 200, body: openApiDocument }),
  } satisfies Operations;
};
