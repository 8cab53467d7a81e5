import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * Records the IAM action of every request the client sends (`dynamodb:Query` from `X-Amz-Target:
 * DynamoDB_20120810.Query`), so a test can hold what a handler does against what its construct grants.
 */
export const recordTableActions = (client: DynamoDBDocumentClient): Set<string> => {
  const actions = new Set<string>();
  client.middlewareStack.add(
    (next) => async (args) => {
      const target = (args.request as { headers?: Record<string, string> }).headers?.['x-amz-target'];
      if (target) actions.add(`dynamodb:${target.slice(target.indexOf('.') + 1)}`);
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordTableActions' },
  );
  return actions;
};
