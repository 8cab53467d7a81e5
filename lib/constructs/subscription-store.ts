import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, type ITable, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { tableDesign } from '../../functions/adapters/dynamodb/table-design.js';

export interface SubscriptionStoreProps {
  /**
   * What happens to the table when it leaves the stack. Tenants, keys and webhooks are customer data.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The single table holding tenants, API keys, webhooks, their subscriptions and deliveries. Keys, the tenant-keys
 * index and the TTL attribute come from `tableDesign`, the definition the repositories and local mode use.
 * On-demand, point-in-time recovery, encrypted with the AWS managed KMS key, retained on stack deletion.
 */
export class SubscriptionStore extends Construct {
  readonly table: ITable;

  constructor(scope: Construct, id: string, props: SubscriptionStoreProps = {}) {
    super(scope, id);
    const { partitionKey, sortKey, tenantKeysIndex, timeToLiveAttribute } = tableDesign;

    const table = new Table(this, 'Table', {
      partitionKey: { name: partitionKey, type: AttributeType.STRING },
      sortKey: { name: sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      timeToLiveAttribute,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    table.addGlobalSecondaryIndex({
      indexName: tenantKeysIndex.name,
      partitionKey: { name: tenantKeysIndex.partitionKey, type: AttributeType.STRING },
      sortKey: { name: tenantKeysIndex.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
    this.table = table;
  }
}
