import type { Template } from 'aws-cdk-lib/assertions';

type Json = Record<string, unknown>;

export interface TemplateMethod {
  readonly logicalId: string;
  /** The full resource path, e.g. `/v1/webhooks/{id}`; `/` for the root. */
  readonly path: string;
  readonly httpMethod: string;
  readonly authorizationType: string;
  /** The logical ID of the authorizer, when one is attached. */
  readonly authorizerId: string | undefined;
  /** The logical ID of the Lambda function the proxy integration invokes. */
  readonly integrationFunctionId: string | undefined;
  readonly integrationType: string | undefined;
}

/** Every method of the template's REST API, with its full path resolved through the resource tree. */
export const restApiMethods = (template: Template): TemplateMethod[] => {
  const resources = template.findResources('AWS::ApiGateway::Resource') as Record<string, { Properties: Json }>;
  const pathOf = (resourceRef: unknown): string => {
    const ref = (resourceRef as { Ref?: string }).Ref;
    if (ref === undefined) return ''; // Fn::GetAtt [RestApi, RootResourceId]
    const resource = resources[ref];
    if (!resource) throw new Error(`unknown API resource ${ref}`);
    return `${pathOf(resource.Properties.ParentId)}/${String(resource.Properties.PathPart)}`;
  };

  const methods = template.findResources('AWS::ApiGateway::Method') as Record<string, { Properties: Json }>;
  return Object.entries(methods).map(([logicalId, { Properties: props }]) => {
    const integration = props.Integration as Json | undefined;
    return {
      logicalId,
      path: pathOf(props.ResourceId) || '/',
      httpMethod: String(props.HttpMethod),
      authorizationType: String(props.AuthorizationType),
      authorizerId: (props.AuthorizerId as { Ref?: string } | undefined)?.Ref,
      integrationType: integration?.Type as string | undefined,
      integrationFunctionId: integration && functionIdInUri(integration.Uri),
    };
  });
};

/** Finds the `Fn::GetAtt [<function>, Arn]` inside an integration URI. */
const functionIdInUri = (uri: unknown): string | undefined => {
  const found = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const getAtt = (node as Json)['Fn::GetAtt'];
      if (Array.isArray(getAtt) && getAtt[1] === 'Arn') found.add(String(getAtt[0]));
      Object.values(node).forEach(walk);
    }
  };
  walk(uri);
  if (found.size > 1) throw new Error(`integration URI names several functions: ${[...found].join(', ')}`);
  return [...found][0];
};
