import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE, type KeyAttribute, type TableDefinition } from '../lambdas/core/table';

export interface SesameTableProps {
  /** The table definition. @default TABLE from lambdas/core/table.ts, the one the local runner uses too */
  readonly definition?: TableDefinition;
  /** What happens to the table when the stack is deleted. @default RemovalPolicy.RETAIN: it holds customers' data */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Sesame's single table, built from the shared definition so that the deployed table and the
 * local store cannot drift: on-demand billing, point-in-time recovery, TTL on `expires_at`.
 */
export class SesameTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: SesameTableProps = {}) {
    super(scope, id);
    const definition = props.definition ?? TABLE;
    this.table = new Table(this, 'Table', {
      partitionKey: attribute(definition.partitionKey),
      sortKey: attribute(definition.sortKey),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: definition.timeToLiveAttribute,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    for (const index of definition.globalSecondaryIndexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: attribute(index.sortKey),
        projectionType: index.projection === 'ALL' ? ProjectionType.ALL : ProjectionType.KEYS_ONLY,
      });
    }
  }
}

const ATTRIBUTE_TYPES = { S: AttributeType.STRING, N: AttributeType.NUMBER, B: AttributeType.BINARY } as const;

function attribute(key: KeyAttribute) {
  return { name: key.name, type: ATTRIBUTE_TYPES[key.type] };
}
