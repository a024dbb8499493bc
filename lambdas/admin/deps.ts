/** The admin tool's adapters, from the same configuration as the handlers. */
import { SNSClient } from '@aws-sdk/client-sns';
import { SESClient } from '@aws-sdk/client-ses';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Route53Client } from '@aws-sdk/client-route-53';
import { readCoreConfig, readSesTenantConfig, requireEnv } from '../core/config';
import { documentClient, sesClient, sqsClient } from '../core/clients';
import { recordAwsCalls } from '../core/aws-calls';
import { createDb } from '../core/adapters/dynamo';
import { DomainStore } from '../core/adapters/domains';
import { SesIdentities } from '../core/adapters/ses-identities';
import { TenantStore } from '../core/adapters/tenants';
import { SesTenants } from '../core/adapters/ses-tenants';
import { SuppressionStore } from '../core/adapters/suppressions';
import { redriveFromEnv } from '../ingest/redrive';
import type { AdminDeps } from './cli';
import type { TenantAdminDeps } from './tenants';
import type { DoctorDeps } from './doctor-check';
import { readDoctorConfig } from './doctor-config';
import { doctorCommand } from './doctor';

let tenants: TenantStore | undefined;
let tenantAdmin: TenantAdminDeps | undefined;

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
    ...(config.receiptRuleSet !== undefined ? { sesReceipt: recordAwsCalls(new SESClient({})) } : {}),
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
  tenantAdmin() {
    if (!tenantAdmin) {
      // What the send function reads of its configuration: the table, the region, both prefixes (not
      // its scheduler, queue or bucket: the admin environment does not name them).
      const config = { ...readCoreConfig(), ...readSesTenantConfig(), configurationSet: requireEnv('SESAME_CONFIGURATION_SET') };
      const db = createDb(documentClient(), config.tableName);
      tenantAdmin = {
        tenants: adminDeps.tenants(),
        domains: new DomainStore(db),
        suppressions: new SuppressionStore(db),
        ses: new SesTenants(sesClient()),
        region: config.region,
        sesTenantPrefix: config.sesTenantPrefix,
        configurationSetPrefix: config.configurationSet,
      };
    }
    return tenantAdmin;
  },
  extra: {
    // Moves what the DLQs hold back where it came from (see lambdas/ingest/redrive.ts).
    'dlq redrive': () => redriveFromEnv(),
    // Whether the stack can send (see lambdas/admin/doctor.ts).
    doctor: (args) => doctorCommand(args, doctorDeps),
  },
};
