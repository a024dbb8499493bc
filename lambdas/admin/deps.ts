/** The admin tool's adapters, from the same configuration as the handlers. */
import { SNSClient } from '@aws-sdk/client-sns';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Route53Client } from '@aws-sdk/client-route-53';
import { readCoreConfig } from '../core/config';
import { documentClient, sesClient, sqsClient } from '../core/clients';
import { recordAwsCalls } from '../core/aws-calls';
import { createDb } from '../core/adapters/dynamo';
import { DomainStore } from '../core/adapters/domains';
import { SesIdentities } from '../core/adapters/ses-identities';
import { TenantStore } from '../core/adapters/tenants';
import { redriveFromEnv } from '../ingest/redrive';
import type { AdminDeps } from './cli';
import type { DoctorDeps } from './doctor-check';
import { readDoctorConfig } from './doctor-config';
import { doctorCommand } from './doctor';

let tenants: TenantStore | undefined;

/** What `doctor` reads; only the command builds it. SNS and Secrets Manager are read by doctor alone. */
function doctorDeps(): DoctorDeps {
  const config = readDoctorConfig();
  return {
    config,
    ses: sesClient(),
    sns: recordAwsCalls(new SNSClient({})),
    sqs: sqsClient(),
    secretsManager: recordAwsCalls(new SecretsManagerClient({})),
    ...(config.tableName !== undefined ? { domains: new DomainStore(createDb(documentClient(), config.tableName)) } : {}),
    identities: new SesIdentities(sesClient()),
    ...(config.route53Zones !== undefined ? { route53: new Route53Client({}) } : {}),
  };
}

export const adminDeps: AdminDeps = {
  tenants() {
    if (!tenants) {
      const config = readCoreConfig();
      tenants = new TenantStore(createDb(documentClient(), config.tableName));
    }
    return tenants;
  },
  extra: {
    // Moves what the DLQs hold back where it came from (see lambdas/ingest/redrive.ts).
    'dlq redrive': () => redriveFromEnv(),
    // Whether the stack can send (see lambdas/admin/doctor.ts).
    doctor: (args) => doctorCommand(args, doctorDeps),
  },
};
