import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../src/core/kernel/metric-names';
import { BUNDLE_ALIASES } from './bundle-aliases';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Powertools' `service` dimension on every metric; the dashboard and alarms select on it. */
export const SERVICE_NAME = 'payments';

export interface PaymentsFunctionProps extends Pick<
  NodejsFunctionProps,
  'description' | 'timeout' | 'reservedConcurrentExecutions'
> {
  /** The folder under functions/ whose handler.ts exports `handler`. */
  readonly name: string;
  /** Its wiring: the names of what it may touch, URLs, timing. */
  readonly environment: Record<string, string>;
}

/**
 * A payments Lambda: Node 22 on Graviton, one ESM bundle with the SDK versions we test against,
 * X-Ray active tracing, and a role that may write its own log group and nothing else until granted.
 */
export class PaymentsFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: PaymentsFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}-logs`, { retention: RetentionDays.ONE_MONTH });
    // Our own role instead of AWSLambdaBasicExecutionRole, which may create and write any log group.
    const role = new Role(scope, `${id}-role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.name} function`,
    });
    logGroup.grantWrite(role);
    super(scope, id, {
      entry: join(PROJECT_ROOT, 'functions', props.name, 'handler.ts'),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: 512,
      timeout: props.timeout ?? Duration.seconds(10),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      // Lambda records its own segments (init, invocation); no tracing SDK goes into the bundle.
      tracing: Tracing.ACTIVE,
      logGroup,
      role,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        minify: true,
        // Maps give stack traces file:line; without the embedded sources they are a quarter the size.
        sourceMap: true,
        sourcesContent: false,
        // Bundle the AWS SDK too, so production runs the versions the lock file pins.
        externalModules: [],
        // CommonJS dependencies inside an ESM bundle still call require().
        banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        esbuildArgs: {
          '--alias': Object.entries(BUNDLE_ALIASES).map(([module, replacement]) => `${module}=${replacement}`),
        },
      },
    });
  }
}
