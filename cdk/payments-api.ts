import { Duration } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  type HttpRoute,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ADMIN_SCOPE, API_ROUTES, type ApiRoute } from '../src/http/routes';
import type { DeployConfig } from './deploy-config';

/** One JSON object per request: who, which route, what came back, how long it took, why it failed. */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  latency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
};

/** What a browser on an allowed origin may send; tokens travel in Authorization, never in cookies. */
const CORS_HEADERS = ['authorization', 'content-type', 'idempotency-key'];

export interface PaymentsApiProps {
  readonly config: Pick<DeployConfig, 'jwtIssuer' | 'jwtAudience' | 'allowedOrigins' | 'throttle'>;
}

/**
 * The HTTP API: the `$default` stage with route throttling and JSON access logs, CORS only for the
 * configured origins, and a JWT authorizer for every non-public route. API Gateway caps payloads at
 * 10 MB and that cap cannot be lowered; the functions enforce their own body limits.
 */
export class PaymentsApi extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  private readonly authorizer: HttpJwtAuthorizer;

  constructor(scope: Construct, id: string, { config }: PaymentsApiProps) {
    super(scope, id);
    this.httpApi = new HttpApi(this, 'HttpApi', {
      apiName: 'payments',
      // Our own stage below: the default one takes no throttling or access log settings.
      createDefaultStage: false,
      corsPreflight:
        config.allowedOrigins.length > 0
          ? {
              allowOrigins: [...config.allowedOrigins],
              // Every method a route answers (the webhook admin routes PATCH and DELETE too).
              allowMethods: [...new Set(API_ROUTES.map((route) => CorsHttpMethod[route.method]))],
              allowHeaders: CORS_HEADERS,
              exposeHeaders: ['idempotent-replayed'],
              allowCredentials: false,
              maxAge: Duration.hours(1),
            }
          : undefined,
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.THREE_MONTHS });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: config.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    this.authorizer = new HttpJwtAuthorizer('Jwt', config.jwtIssuer, { jwtAudience: [config.jwtAudience] });
  }

  /** The API's base URL (`https://<id>.execute-api.<region>.amazonaws.com`), without a trailing slash. */
  get endpoint(): string {
    return this.httpApi.apiEndpoint;
  }

  /** Serves the route from its function, behind the JWT authorizer unless public, with the admin scope on admin routes. */
  addRoute(route: ApiRoute, fn: IFunction): HttpRoute {
    const [deployed] = this.httpApi.addRoutes({
      path: route.path,
      methods: [HttpMethod[route.method]],
      integration: new HttpLambdaIntegration(`${route.fn}-integration`, fn),
      authorizer: route.auth === 'public' ? undefined : this.authorizer,
      authorizationScopes: route.auth === 'admin' ? [ADMIN_SCOPE] : undefined,
    });
    return deployed!;
  }
}
