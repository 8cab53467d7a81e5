import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Queue, QueueEncryption, type QueueProps } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** How long a dead-letter queue keeps what reaches it: SQS's longest retention. */
export const DEAD_LETTER_RETENTION = Duration.days(14);

/** The settings a caller may choose; encryption and TLS are not among them. */
export type PlatformQueueProps = Omit<QueueProps, 'encryption' | 'encryptionMasterKey' | 'enforceSSL' | 'dataKeyReuse'>;

/**
 * A queue with the defaults every queue of the platform has: server-side encryption with SQS-managed keys (no KMS
 * key to share with EventBridge or the functions) and a queue policy refusing requests without TLS.
 */
export const platformQueue = (scope: Construct, id: string, props: PlatformQueueProps = {}): Queue =>
  new Queue(scope, id, { ...props, encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true });

export interface TerminalQueueProps {
  readonly removalPolicy: RemovalPolicy;
  /**
   * Why nothing is redriven from this queue: it is where messages end, for an operator to inspect or redrive.
   * Becomes the reason of the cdk-nag acknowledgements for a queue without a dead-letter queue of its own.
   */
  readonly endOfTheLine: string;
  /**
   * Whether another queue's redrive policy names this queue, in the same stack (cdk-nag AwsSolutions-SQS3 then
   * recognises it as a dead-letter queue by itself).
   */
  readonly redriveTarget: boolean;
}

/**
 * A queue where messages end: a dead-letter queue, or a queue of rejects. It keeps messages for 14 days and has no
 * dead-letter queue of its own, which the acknowledgements here record with the caller's reason.
 */
export const terminalQueue = (scope: Construct, id: string, props: TerminalQueueProps): Queue => {
  const queue = platformQueue(scope, id, { retentionPeriod: DEAD_LETTER_RETENTION, removalPolicy: props.removalPolicy });
  Validations.of(queue).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason: props.endOfTheLine });
  if (!props.redriveTarget) Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason: props.endOfTheLine });
  return queue;
};
