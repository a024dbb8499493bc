import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { API_ROUTES, type ApiFunction } from '../../lambdas/core/routes';
import { SesameApi } from '../../lib/sesame-api';
import { SesameFunction } from '../../lib/sesame-function';
import { logicalId, minimalStack } from './helpers';

function apiFunctions(scope: Construct): Record<ApiFunction, IFunction> {
  const make = (id: string, entryDir: string) => new SesameFunction(scope, id, { entryDir }).fn;
  return { send: make('Send', 'send'), domains: make('Domains', 'domains'), account: make('Account', 'account'), snsHttps: make('SnsHttps', 'sns-https'), console: make('Console', 'console') };
}

describe('SesameApi', () => {
  const stack = minimalStack();
  const functions = apiFunctions(stack);
  const api = new SesameApi(stack, 'Api', { functions });
  const template = Template.fromStack(stack);
  const all = (type: string) => Object.entries(template.findResources(type));

  it('serves every route of API_ROUTES and no other', () => {
    const routeKeys = all('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);
    expect(routeKeys.sort()).toEqual(API_ROUTES.map((r) => r.routeKey).sort());
  });

  it('has a $default route, so that an unknown route reaches a function that answers 404 in Resend\'s format', () => {
    const routeKeys = all('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);
    expect(routeKeys).toContain('$default');
  });

  it('sends each route to the integration of its function, one integration per function', () => {
    const integrations = all('AWS::ApiGatewayV2::Integration');
    expect(integrations).toHaveLength(5);
    const functionOfIntegration = new Map(
      integrations.map(([id, i]) => [id, (i.Properties.IntegrationUri['Fn::GetAtt'] as string[])[0]]),
    );
    const routes = new Map(all('AWS::ApiGatewayV2::Route').map(([, r]) => [r.Properties.RouteKey, r.Properties.Target]));
    for (const route of API_ROUTES) {
      const target = JSON.stringify(routes.get(route.routeKey));
      const integrationId = /integrations\/"?,?\{"Ref":"([A-Za-z0-9]+)"/.exec(target)?.[1];
      expect(functionOfIntegration.get(integrationId ?? '')).toBe(logicalId(stack, functions[route.fn] as never));
    }
  });

  it('has no authorizer on any route: authentication is the shared middleware', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
    template.allResourcesProperties('AWS::ApiGatewayV2::Route', { AuthorizationType: 'NONE', AuthorizerId: Match.absent() });
  });

  it('has only the explicit $default stage, auto-deployed and throttled', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
    });
  });

  it('writes JSON access logs with request id, route, status, ip and latency to its log group', () => {
    const stage = all('AWS::ApiGatewayV2::Stage')[0][1];
    expect(stage.Properties.AccessLogSettings.DestinationArn).toEqual({ 'Fn::GetAtt': [logicalId(stack, api.accessLogs), 'Arn'] });
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format);
    expect(format).toEqual(
      expect.objectContaining({
        requestId: '$context.requestId',
        routeKey: '$context.routeKey',
        status: '$context.status',
        ip: '$context.identity.sourceIp',
        latency: '$context.responseLatency',
      }),
    );
  });

  it('lets API Gateway invoke each function through this API only', () => {
    const permissions = all('AWS::Lambda::Permission').map(([, p]) => p.Properties);
    expect(permissions).toHaveLength(5);
    for (const p of permissions) {
      expect(p.Principal).toBe('apigateway.amazonaws.com');
      expect(JSON.stringify(p.SourceArn)).toContain(`{"Ref":"${logicalId(stack, api.httpApi)}"}`);
    }
  });

  it('takes throttling from its props', () => {
    const other = minimalStack();
    new SesameApi(other, 'Api', { functions: apiFunctions(other), throttleRateLimit: 5, throttleBurstLimit: 7 });
    Template.fromStack(other).hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 7 },
    });
  });
});
