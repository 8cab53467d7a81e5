import { Duration, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  type CfnAuthorizer,
  EndpointType,
  type IResource,
  LambdaIntegration,
  LogGroupLogDestination,
  type Method,
  MethodLoggingLevel,
  RequestAuthorizer,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type ApiRoute, apiRoutes, type RouteGroup } from '../../functions/contracts/api-routes.js';
import { addGatewayResponses } from './gateway-responses.js';

export interface SubscriptionsApiProps {
  /** The function serving each route group. */
  readonly routeHandlers: Readonly<Record<RouteGroup, IFunction>>;
  /** Answers unknown paths (404) and wrong methods (405) from the route table; serves no tenant data. */
  readonly fallbackHandler: IFunction;
  /** The Lambda REQUEST authorizer resolving API keys to tenant and scopes. */
  readonly authorizerHandler: IFunction;
  /**
   * The routes to expose.
   * @default apiRoutes - the shared route table
   */
  readonly routes?: readonly ApiRoute[];
  /**
   * @default 'api'
   */
  readonly stageName?: string;
  /**
   * The API's name, which is also the `ApiName` dimension of its CloudWatch metrics: give each deployment its own,
   * or the metrics of two APIs with the same name and stage name are one.
   * @default - the construct ID, 'RestApi'
   */
  readonly restApiName?: string;
  /** Steady-state requests per second for the stage. */
  readonly throttlingRateLimit: number;
  /** Burst bucket size for the stage. */
  readonly throttlingBurstLimit: number;
  /** Retention of the access log group. */
  readonly logRetention: RetentionDays;
}

/**
 * The public REST API of the subscriptions service, built from the shared route table: one resource per route path,
 * one method per route integrated (proxy) with its group's function, guarded by the API-key authorizer unless the
 * route is public. Every resource also has an unauthenticated `ANY`, and `/{proxy+}` catches the rest, both served by
 * the fallback function, so unknown routes and wrong methods get the API's own 404/405 bodies; the errors API Gateway
 * answers itself are mapped to the same shape.
 */
export class SubscriptionsApi extends Construct {
  readonly api: RestApi;
  readonly authorizer: RequestAuthorizer;
  readonly accessLogGroup: LogGroup;
  /** The method of each route, by operationId. */
  readonly methods: ReadonlyMap<string, Method>;

  constructor(scope: Construct, id: string, props: SubscriptionsApiProps) {
    super(scope, id);
    const routes = props.routes ?? apiRoutes;
    validateRoutes(this, routes);

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    this.api = new RestApi(this, 'RestApi', {
      ...(props.restApiName !== undefined && { restApiName: props.restApiName }),
      description: 'Webhook subscriptions API',
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      // Execution logging needs the account-level API Gateway role; see the IAM4 acknowledgement below.
      cloudWatchRole: true,
      deployOptions: {
        stageName: props.stageName ?? 'api',
        throttlingRateLimit: props.throttlingRateLimit,
        throttlingBurstLimit: props.throttlingBurstLimit,
        tracingEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: false,
        accessLogDestination: new LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields({
          caller: true,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: true,
        }),
      },
    });
    addGatewayResponses(this.api);

    this.authorizer = new RequestAuthorizer(this, 'ApiKeyAuthorizer', {
      handler: props.authorizerHandler,
      // The key may arrive in any of four headers; an identity source makes API Gateway reject (401) requests
      // lacking it without calling the authorizer, so there is none, which API Gateway allows only uncached.
      identitySources: [],
      resultsCacheTtl: Duration.seconds(0),
    });
    // CDK renders an empty list as IdentitySource: ""; leave the optional property out instead.
    (this.authorizer.node.defaultChild as CfnAuthorizer).addPropertyDeletionOverride('IdentitySource');

    const integrations = new Map<IFunction, LambdaIntegration>();
    const integrationFor = (handler: IFunction) => {
      let integration = integrations.get(handler);
      if (!integration) {
        integration = new LambdaIntegration(handler, { proxy: true, allowTestInvoke: false });
        integrations.set(handler, integration);
      }
      return integration;
    };

    const methods = new Map<string, Method>();
    const routeResources = new Set<IResource>();
    for (const route of routes) {
      const resource = this.api.root.resourceForPath(route.path);
      routeResources.add(resource);
      const method = resource.addMethod(
        route.method,
        integrationFor(props.routeHandlers[route.group]),
        route.scope === null
          ? { authorizationType: AuthorizationType.NONE, operationName: route.operationId }
          : { authorizationType: AuthorizationType.CUSTOM, authorizer: this.authorizer, operationName: route.operationId },
      );
      if (route.scope === null) {
        Validations.of(method).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `Public route ${route.method} ${route.path} (scope null in the route table) serves no tenant data.`,
        });
      }
      methods.set(route.operationId, method);
    }
    this.methods = methods;

    // The fallback: ANY on the root, on every resource on a route path (parents included), and /{proxy+}.
    const fallback = integrationFor(props.fallbackHandler);
    const fallbackResources = new Set<IResource>([this.api.root]);
    for (const resource of routeResources) {
      for (let current: IResource | undefined = resource; current; current = current.parentResource) {
        fallbackResources.add(current);
      }
    }
    const proxy = this.api.root.addResource('{proxy+}');
    fallbackResources.add(proxy);
    for (const resource of fallbackResources) {
      const method = resource.addMethod('ANY', fallback, { authorizationType: AuthorizationType.NONE });
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: 'Fallback for unknown routes and wrong methods: answers 404/405 from the route table, no tenant data.',
      });
    }

    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-COG4',
        reason: 'Tenants authenticate with API keys checked by a Lambda REQUEST authorizer, not Cognito user pools.',
      },
      {
        id: 'AwsSolutions-APIG2',
        reason: 'Handlers validate requests with the shared zod contracts and answer 400 in the API error shape.',
      },
      {
        id: 'AwsSolutions-APIG3',
        reason: 'WAF is out of scope for this stage; stage throttling and the authorizer protect the API.',
      },
    );
    const cloudWatchRole = this.api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: 'The account-level role API Gateway needs for execution logging (APIG6); AWS maintains its policy.',
      });
    }
  }

  /** The stage's invoke URL, ending in `/`; route paths (`v1/...`) are relative to it. */
  get url(): string {
    return this.api.url;
  }
}

const validateRoutes = (scope: Construct, routes: readonly ApiRoute[]): void => {
  const seen = new Set<string>();
  for (const route of routes) {
    if (!/^(\/(\{\w+\}|[\w.-]+))+$/.test(route.path)) {
      throw new Error(`${scope.node.path}: route ${route.operationId} has an invalid path "${route.path}"`);
    }
    const key = `${route.method} ${route.path}`;
    if (seen.has(key)) throw new Error(`${scope.node.path}: ${key} is defined twice in the route table`);
    seen.add(key);
  }
};
