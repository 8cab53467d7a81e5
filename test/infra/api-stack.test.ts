import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ResponseType } from 'aws-cdk-lib/aws-apigateway';
import { apiRoutes, type RouteGroup } from '../../functions/contracts/api-routes.js';
import { gatewayErrors } from '../../lib/constructs/gateway-responses.js';
import { ESM_REQUIRE_BANNER, type WebhookFunction } from '../../lib/constructs/webhook-function.js';
import { buildPlatform, logicalId } from './support/platform.js';
import { restApiMethods } from './support/rest-api-template.js';

// One synth for the whole file: it bundles the API stack's four handlers with esbuild (the pipeline's are
// bundled by pipeline-stack.test.ts).
const platform = buildPlatform({
  bundle: ['Webhooks-dev-Api'],
  config: { api: { throttlingRateLimit: 25, throttlingBurstLimit: 40 }, logRetentionDays: 14 },
});
const assembly = platform.app.synth();
const template = Template.fromStack(platform.api);
const statefulTemplate = Template.fromStack(platform.stateful);
const { functions } = platform.api;
const methods = restApiMethods(template);

const fnResource = (fn: WebhookFunction) =>
  template.toJSON().Resources[logicalId(fn)] as { Properties: Record<string, any> };
/** The bundled entry point of a function, in the synthesized cloud assembly. */
const bundlePath = (fn: WebhookFunction): string => {
  const s3Key: string = fnResource(fn).Properties.Code.S3Key;
  return join(assembly.directory, `asset.${s3Key.replace(/\.zip$/, '')}`, 'index.mjs');
};

/** Every IAM action granted to a function's role, by any policy attached to it. */
const roleStatements = (fn: WebhookFunction) => {
  const roleId = logicalId(fn.role!);
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: roleId }]) },
  });
  return Object.values(policies).flatMap(
    (policy) => (policy as any).Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
  );
};
const roleActions = (fn: WebhookFunction) =>
  roleStatements(fn).flatMap((statement) => [statement.Action].flat());

const groupFunctions: Record<RouteGroup, WebhookFunction> = {
  webhooksRead: functions.webhooksRead,
  webhooksWrite: functions.webhooksWrite,
  catalogue: functions.catalogue,
};
const allFunctions = Object.entries(functions) as [string, WebhookFunction][];

describe('routes', () => {
  it.each(apiRoutes.map((route) => [route.operationId, route] as const))(
    '%s is a method on its path, integrated with its group function',
    (_operationId, route) => {
      const matching = methods.filter((method) => method.path === route.path && method.httpMethod === route.method);

      expect(matching).toHaveLength(1);
      expect(matching[0]).toMatchObject({
        integrationType: 'AWS_PROXY',
        integrationFunctionId: logicalId(groupFunctions[route.group]),
      });
    },
  );

  it('guards every scoped route with the API-key authorizer and leaves public routes open', () => {
    const authorizerId = logicalId(platform.api.api.authorizer);

    for (const route of apiRoutes) {
      const method = methods.find((m) => m.path === route.path && m.httpMethod === route.method)!;
      if (route.scope === null) {
        expect({ route: route.operationId, auth: method.authorizationType, authorizer: method.authorizerId }).toEqual({
          route: route.operationId,
          auth: 'NONE',
          authorizer: undefined,
        });
      } else {
        expect({ route: route.operationId, auth: method.authorizationType, authorizer: method.authorizerId }).toEqual({
          route: route.operationId,
          auth: 'CUSTOM',
          authorizer: authorizerId,
        });
      }
    }
  });

  it('answers everything else with the catalogue function: ANY on the root, on every route resource and on /{proxy+}', () => {
    const routePaths = new Set(apiRoutes.map((route) => route.path));
    const withParents = new Set(['/', '/{proxy+}']);
    for (const path of routePaths) {
      const segments = path.split('/').slice(1);
      segments.forEach((_, index) => withParents.add(`/${segments.slice(0, index + 1).join('/')}`));
    }

    const anyMethods = methods.filter((method) => method.httpMethod === 'ANY');

    expect(new Set(anyMethods.map((method) => method.path))).toEqual(withParents);
    for (const method of anyMethods) {
      expect(method).toMatchObject({
        authorizationType: 'NONE',
        integrationType: 'AWS_PROXY',
        integrationFunctionId: logicalId(functions.catalogue),
      });
    }
    expect(methods).toHaveLength(apiRoutes.length + withParents.size);
  });
});

describe('authorizer', () => {
  it('is an uncached REQUEST authorizer with no identity source, backed by the authorizer function', () => {
    template.resourceCountIs('AWS::ApiGateway::Authorizer', 1);
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      AuthorizerResultTtlInSeconds: 0,
      IdentitySource: Match.absent(),
    });
    const [authorizer] = Object.values(template.findResources('AWS::ApiGateway::Authorizer'));
    expect(JSON.stringify(authorizer)).toContain(`"${logicalId(functions.authorizer)}","Arn"`);
  });

  it('may be invoked by API Gateway', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [logicalId(functions.authorizer), 'Arn'] },
    });
  });
});

describe('stage', () => {
  it('throttles the whole stage with the configured rate and burst, logs errors and traces', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'api',
      TracingEnabled: true,
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 25,
          ThrottlingBurstLimit: 40,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
        }),
      ]),
    });
  });

  it('writes JSON access logs to its own log group with the configured retention', () => {
    const accessLogGroupId = logicalId(platform.api.api.accessLogGroup);
    const [stage] = Object.values(template.findResources('AWS::ApiGateway::Stage')) as any[];
    const accessLog = stage.Properties.AccessLogSetting;

    expect(JSON.stringify(accessLog.DestinationArn)).toContain(accessLogGroupId);
    expect(JSON.parse(accessLog.Format)).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
    expect(template.toJSON().Resources[accessLogGroupId].Properties.RetentionInDays).toBe(14);
  });

  it('has the account-level CloudWatch role that execution logging needs', () => {
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
  });
});

describe('gateway responses', () => {
  const responses = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse')) as any[];
  const responseOf = (type: ResponseType) => responses.find((r) => r.Properties.ResponseType === type.responseType);

  it.each([
    ['UNAUTHORIZED', '401', 'unauthorized'],
    ['ACCESS_DENIED', '403', 'forbidden'],
    ['MISSING_AUTHENTICATION_TOKEN', '404', 'not_found'],
    ['REQUEST_TOO_LARGE', '413', 'payload_too_large'],
    ['THROTTLED', '429', 'too_many_requests'],
    ['DEFAULT_4XX', undefined, 'bad_request'],
    ['DEFAULT_5XX', undefined, 'internal_error'],
  ] as const)('%s answers %s with the API error shape, code %s', (type, statusCode, code) => {
    const response = responseOf(ResponseType.of(type));
    // API Gateway substitutes $context.error.messageString with a quoted JSON string.
    const body = JSON.parse(
      response.Properties.ResponseTemplates['application/json'].replace('$context.error.messageString', '"message"'),
    );

    expect(response.Properties.StatusCode).toBe(statusCode);
    expect(response.Properties.ResponseParameters['gatewayresponse.header.content-type']).toBe("'application/json'");
    expect(body).toEqual({ error: { code, message: expect.any(String), details: [] } });
  });

  it('covers every gateway error, and asks for the key the way the handlers do', () => {
    expect(responses).toHaveLength(gatewayErrors.length);
    expect(responseOf(ResponseType.UNAUTHORIZED).Properties.ResponseParameters).toMatchObject({
      'gatewayresponse.header.www-authenticate': "'Bearer'",
    });
    expect(responseOf(ResponseType.DEFAULT_4XX).Properties.ResponseTemplates['application/json']).toContain(
      '"message":$context.error.messageString',
    );
  });
});

describe('least privilege', () => {
  const writes = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];

  it('lets the read function and the authorizer only read the table, and send nothing', () => {
    for (const fn of [functions.webhooksRead, functions.authorizer]) {
      const dynamoActions = roleActions(fn).filter((action) => action.startsWith('dynamodb:'));

      expect(dynamoActions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query']));
      for (const write of writes) expect(dynamoActions).not.toContain(write);
      expect(roleActions(fn).some((action) => action.startsWith('sqs:'))).toBe(false);
    }
  });

  it('lets the write function write items and send to the delivery queue', () => {
    expect(roleActions(functions.webhooksWrite)).toEqual(
      expect.arrayContaining([...writes.slice(0, 3), 'dynamodb:GetItem', 'dynamodb:Query', 'sqs:SendMessage']),
    );
  });

  it('lets only the write function use the credentials key: data keys to seal, and Decrypt, for webhook credentials only', () => {
    const keyStatements = (fn: WebhookFunction) => roleStatements(fn).filter((statement) => [statement.Action].flat().some((action) => action.startsWith('kms:')));
    const [statement, ...others] = keyStatements(functions.webhooksWrite);
    expect(others).toEqual([]);
    expect([statement!.Action].flat().sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(statement).toMatchObject({
      Resource: { 'Fn::ImportValue': expect.stringContaining('CredentialsKey') },
      Condition: { StringEquals: { 'kms:EncryptionContext:purpose': 'webhook-credentials' } },
    });
    for (const fn of [functions.webhooksRead, functions.authorizer, functions.catalogue]) expect(keyStatements(fn)).toEqual([]);
  });

  it('gives the catalogue function no table or queue access', () => {
    const actions = roleActions(functions.catalogue);

    expect(actions.filter((action) => /^(dynamodb|sqs|kms):/.test(action))).toEqual([]);
  });

  it('grants nothing on wildcards except X-Ray, and scopes table access to the base table', () => {
    for (const [, fn] of allFunctions) {
      for (const statement of roleStatements(fn)) {
        const actions = [statement.Action].flat();
        if (statement.Resource === '*') expect(actions.every((action) => action.startsWith('xray:'))).toBe(true);
        for (const action of actions) expect(action).not.toContain('*');
        expect(JSON.stringify(statement.Resource)).not.toContain('/index/');
      }
    }
  });

  it('uses roles without AWS managed policies', () => {
    for (const [, fn] of allFunctions) {
      const role = template.toJSON().Resources[logicalId(fn.role!)];
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('functions', () => {
  it.each(allFunctions)('%s runs Node.js 22 on arm64 with active tracing and source maps', (_name, fn) => {
    const { Properties: props } = fnResource(fn);

    expect(props).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Handler: 'index.handler',
    });
    expect(props.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    expect(props.MemorySize).toBeGreaterThanOrEqual(128);
    expect(props.Timeout).toBeLessThanOrEqual(29); // API Gateway's integration timeout
  });

  it.each(allFunctions)('%s logs to its own log group with the configured retention', (_name, fn) => {
    const logGroupRef = fnResource(fn).Properties.LoggingConfig.LogGroup.Ref;
    const logGroup = template.toJSON().Resources[logGroupRef];

    expect(logGroup.Type).toBe('AWS::Logs::LogGroup');
    expect(logGroup.Properties.RetentionInDays).toBe(14);
  });

  it('uses no logRetention custom resource', () => {
    template.resourceCountIs('Custom::LogRetention', 0);
  });

  it('names the table and queue only in the functions that are granted them', () => {
    const variables = (fn: WebhookFunction) => Object.keys(fnResource(fn).Properties.Environment.Variables);

    expect(variables(functions.webhooksRead)).toContain('TABLE_NAME');
    expect(variables(functions.webhooksRead)).not.toContain('DELIVERY_QUEUE_URL');
    expect(variables(functions.authorizer)).toContain('TABLE_NAME');
    expect(variables(functions.webhooksWrite)).toEqual(expect.arrayContaining(['TABLE_NAME', 'DELIVERY_QUEUE_URL']));
    expect(variables(functions.catalogue)).not.toContain('TABLE_NAME');
    expect(fnResource(functions.webhooksWrite).Properties.Environment.Variables).toMatchObject({
      ALLOW_HTTP_URLS: 'false',
      ALLOW_PRIVATE_DESTINATIONS: 'false',
    });
  });

  it.each(allFunctions)('%s is a minified ESM bundle with a source map, importing only Node built-ins', (_name, fn) => {
    const bundle = readFileSync(bundlePath(fn), 'utf8');
    // Import statements start a statement (the SDK's error messages quote `import "..."` inside strings).
    const imported = [...bundle.matchAll(/(?:^|[;\n}])\s*import\s*(?:[\w$*{}\s,]+?\s*from\s*)?["']([^"']+)["']/g)].map(
      (m) => m[1]!,
    );

    expect(existsSync(`${bundlePath(fn)}.map`)).toBe(true);
    expect(bundle.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
    // The AWS SDK and every other package are inside the bundle: nothing is left to the runtime's node_modules.
    expect(imported.length).toBeGreaterThan(0);
    expect(imported.filter((specifier) => !isBuiltin(specifier))).toEqual([]);
    expect(bundle).toMatch(/export\s*\{\s*\w+ as handler\s*\}/);
  });

  it('bundles the AWS SDK clients into the functions that use them', () => {
    expect(readFileSync(bundlePath(functions.webhooksRead), 'utf8').includes('DynamoDB_20120810')).toBe(true);
    expect(readFileSync(bundlePath(functions.webhooksWrite), 'utf8').includes('AmazonSQS')).toBe(true);
    expect(readFileSync(bundlePath(functions.webhooksWrite), 'utf8').includes('TrentService')).toBe(true);
  });

  it.each([
    ['webhooksRead', functions.webhooksRead],
    ['authorizer', functions.authorizer],
    ['catalogue', functions.catalogue],
  ] as const)('%s, which never queues a delivery nor reads credentials, bundles neither the SQS nor the KMS client', (_name, fn) => {
    const bundle = readFileSync(bundlePath(fn), 'utf8');
    expect(bundle.includes('AmazonSQS')).toBe(false);
    expect(bundle.includes('TrentService')).toBe(false);
  });

  it.each([
    ['DELIVERY_QUEUE_URL', { CREDENTIALS_KEY_ID: 'arn:aws:kms:eu-west-1:123456789012:key/1' }],
    ['CREDENTIALS_KEY_ID', { DELIVERY_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/deliveries' }],
  ])('webhooksWrite refuses to start without %s', (variable, others) => {
    const script = `await import(${JSON.stringify(pathToFileURL(bundlePath(functions.webhooksWrite)).href)});`;
    const run = () =>
      execFileSync(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], {
        encoding: 'utf8',
        stdio: 'pipe',
        env: { PATH: process.env.PATH, AWS_REGION: 'eu-west-1', TABLE_NAME: 'subscriptions', ...others },
      });

    expect(run).toThrow(new RegExp(`${variable} is required`));
  });

  it.each(allFunctions)('%s bundle loads as ESM and handles an unknown route without AWS', (name, fn) => {
    const event = {
      httpMethod: 'GET',
      path: '/v1/no-such-route',
      headers: {},
      queryStringParameters: null,
      requestContext: {},
      body: null,
      isBase64Encoded: false,
      methodArn: 'arn:aws:execute-api:eu-west-1:123456789012:abc123/api/GET/v1/no-such-route',
    };
    const script = `const { handler } = await import(${JSON.stringify(pathToFileURL(bundlePath(fn)).href)});
      const result = await handler(${JSON.stringify(event)}, {}).catch((error) => ({ thrown: error.message }));
      process.stdout.write(JSON.stringify(result));`;

    const output = execFileSync(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'eu-west-1',
        TABLE_NAME: 'subscriptions',
        DELIVERY_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/deliveries',
        CREDENTIALS_KEY_ID: 'arn:aws:kms:eu-west-1:123456789012:key/1',
      },
    });
    const result = JSON.parse(output);

    if (name === 'authorizer') {
      // No key presented: rejected before any table access, as API Gateway's 401.
      expect(result).toEqual({ thrown: 'Unauthorized' });
    } else {
      expect(result.statusCode).toBe(404);
      expect(JSON.parse(result.body)).toEqual({ error: { code: 'not_found', message: expect.any(String), details: [] } });
    }
  });
});

describe('endpoint overrides for a local emulator', () => {
  // Only the environment matters here: no bundling.
  const local = buildPlatform({
    bundle: false,
    config: { endpoints: { dynamodb: 'http://localhost:4566', sqs: 'http://localhost:4566', kms: 'http://localhost:4566' } },
  });
  const localTemplate = Template.fromStack(local.api);
  const variables = (fn: WebhookFunction) =>
    localTemplate.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables as Record<string, unknown>;

  it('reach only the functions granted the service', () => {
    const { webhooksRead, webhooksWrite, catalogue, authorizer } = local.api.functions;

    expect(variables(webhooksRead)).toMatchObject({ DYNAMODB_ENDPOINT: 'http://localhost:4566' });
    expect(variables(webhooksRead).SQS_ENDPOINT).toBeUndefined();
    expect(variables(webhooksRead).KMS_ENDPOINT).toBeUndefined();
    expect(variables(webhooksRead).CREDENTIALS_KEY_ID).toBeUndefined();
    expect(variables(authorizer)).toMatchObject({ DYNAMODB_ENDPOINT: 'http://localhost:4566' });
    expect(variables(webhooksWrite)).toMatchObject({
      DYNAMODB_ENDPOINT: 'http://localhost:4566',
      SQS_ENDPOINT: 'http://localhost:4566',
      KMS_ENDPOINT: 'http://localhost:4566',
    });
    expect(Object.keys(variables(catalogue)).sort()).toEqual(['ALLOW_HTTP_URLS', 'NODE_OPTIONS']);
  });

  it('are absent by default', () => {
    for (const [, fn] of allFunctions) {
      expect(Object.keys(fnResource(fn).Properties.Environment.Variables)).not.toEqual(
        expect.arrayContaining([expect.stringMatching(/_ENDPOINT$/)]),
      );
    }
  });
});

describe('outputs', () => {
  it('publishes the API URL, the table name and the delivery queue URL', () => {
    template.hasOutput('ApiUrl', {});
    statefulTemplate.hasOutput('TableName', {});
    statefulTemplate.hasOutput('DeliveryQueueUrl', {});
  });
});
