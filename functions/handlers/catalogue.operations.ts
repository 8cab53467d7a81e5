import * as z from 'zod';
import { eventCatalogue } from '../contracts/event-catalogue.js';
import type { EventTypeList } from '../contracts/event-type.schema.js';
// The committed document (`npm run openapi`; a test keeps it current): generating it here would load the generator
// into the function, ~50 ms of its cold start.
import openApiDocument from '../contracts/openapi.json' with { type: 'json' };
import { type DeploymentRules, openApiDocumentFor } from '../contracts/openapi-deployment.js';
import type { Operations } from './http/api-handler.js';

/**
 * Read-only, storage-free routes: the event-type catalogue and the OpenAPI document as this deployment serves it (its
 * region, and https only unless it allows http URLs).
 */
export const catalogueOperations = (deployment: DeploymentRules) => {
  const servedDocument = openApiDocumentFor(openApiDocument, deployment);
  const eventTypes = {
    data: eventCatalogue.map((eventType) => ({
      name: eventType.name,
      description: eventType.description,
      inUse: eventType.inUse,
      subscribable: eventType.subscribable,
      publishedBy: eventType.publishedBy,
      example: eventType.example,
      schema: z.toJSONSchema(eventType.schema, { target: 'draft-2020-12' }),
    })),
  } satisfies z.input<typeof EventTypeList>;
  return {
    listEventTypes: async () => ({ statusCode: 200, body: eventTypes }),
    getOpenApi: async () => ({ statusCode: 200, body: servedDocument }),
  } satisfies Operations;
};
