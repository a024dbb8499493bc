import { Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpRoute, HttpRouteKey, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { API_ROUTES, DEFAULT_ROUTE_KEY, type ApiFunction, type ApiRoute } from '../lambdas/core/routes';

export interface SesameApiProps {
  /** The function behind each kind of route of API_ROUTES. */
  readonly functions: Readonly<Record<ApiFunction, IFunction>>;
  /** The routes. @default API_ROUTES from lambdas/core/routes.ts, the list the local runner serves too */
  readonly routes?: readonly ApiRoute[];
  /** Steady-state requests per second of the stage, all routes together. @default 1000 */
  readonly throttleRateLimit?: number;
  /** Burst of requests of the stage. @default 2000 */
  readonly throttleBurstLimit?: number;
  /** Retention of the access logs. @default one month */
  readonly accessLogRetention?: RetentionDays;
}

/** Why no route has an API Gateway authorizer (the cdk-nag acknowledgment's reason). */
const NO_AUTHORIZER_REASON =
  'Authentication is the middleware shared by the API functions: an HTTP API authorizer can only answer {"message":"Unauthorized"} instead of Resend\'s error format, caches by key regardless of route, and keeps a revoked key alive for its cache\'s life. POST /webhooks/ses carries no key: every SNS message\'s signature and TopicArn are verified instead.';

/**
 * The HTTP API (API Gateway v2): the routes of API_ROUTES (their `$default` route answers 404 in
 * Resend's format for anything else), one Lambda integration per function, and an explicit
 * `$default` stage with JSON access logs and throttling.
 */
export class SesameApi extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  /** The routes created, by route key. */
  readonly routes: ReadonlyMap<string, HttpRoute>;

  constructor(scope: Construct, id: string, props: SesameApiProps) {
    super(scope, id);
    this.httpApi = new HttpApi(this, 'Api', {
      apiName: Stack.of(this).stackName,
      createDefaultStage: false,
      description: 'Sesame: Resend-compatible email API',
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.accessLogRetention ?? RetentionDays.ONE_MONTH });
    this.stage = this.addDefaultStage(props);
    this.routes = this.addRoutes(props.routes ?? API_ROUTES, props.functions);
  }

  /**
   * The API's base URL, without a trailing slash: the `resend` SDK and most clients append paths that
   * start with one (`${baseUrl}/emails`). The `$default` stage is served at the API's endpoint itself.
   */
  get url(): string {
    return this.httpApi.apiEndpoint;
  }

  private addDefaultStage(props: SesameApiProps): HttpStage {
    return new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      // API Gateway answers a throttled request itself with 429 {"message":"Too Many Requests"}.
      throttle: { rateLimit: props.throttleRateLimit ?? 1000, burstLimit: props.throttleBurstLimit ?? 2000 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            routeKey: '$context.routeKey',
            status: '$context.status',
            ip: '$context.identity.sourceIp',
            latency: '$context.responseLatency',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            time: '$context.requestTimeEpoch',
          }),
        ),
      },
    });
  }

  private addRoutes(routes: readonly ApiRoute[], functions: SesameApiProps['functions']): Map<string, HttpRoute> {
    // One integration per function. The invoke permission is scoped to the API rather than to each
    // route, which keeps each function's resource policy at one statement instead of one per route.
    const integrations = new Map<ApiFunction, HttpLambdaIntegration>();
    const integrationFor = (fn: ApiFunction) => {
      let integration = integrations.get(fn);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${fn}-integration`, functions[fn], { scopePermissionToRoute: false });
        integrations.set(fn, integration);
      }
      return integration;
    };
    const created = new Map<string, HttpRoute>();
    for (const route of routes) {
      const httpRoute = new HttpRoute(this, `Route-${route.routeKey.replace(/[^A-Za-z0-9]+/g, '-')}`, {
        httpApi: this.httpApi,
        routeKey: httpRouteKey(route.routeKey),
        integration: integrationFor(route.fn),
      });
      Validations.of(httpRoute).acknowledge({ id: 'AwsSolutions-APIG4', reason: NO_AUTHORIZER_REASON });
      created.set(route.routeKey, httpRoute);
    }
    return created;
  }
}

/** `METHOD /path` as API Gateway's route key; `$default` is its catch-all. */
function httpRouteKey(routeKey: string): HttpRouteKey {
  if (routeKey === DEFAULT_ROUTE_KEY) return HttpRouteKey.DEFAULT;
  const [method, path] = parseRouteKey(routeKey);
  return HttpRouteKey.with(path, method);
}

function parseRouteKey(routeKey: string): [HttpMethod, string] {
  const match = /^([A-Z]+) (\/\S*)$/.exec(routeKey);
  const method = match?.[1] as HttpMethod | undefined;
  if (!match || !method || !Object.values(HttpMethod).includes(method)) throw new Error(`Invalid route key "${routeKey}"`);
  return [method, match[2]];
}
