import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeliveryQueue, DeliveryRequest } from '../../domain/ports.js';

/** Delivery requests as messages on the delivery SQS queue. */
export class SqsDeliveryQueue implements DeliveryQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(request: DeliveryRequest): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(request),
        MessageAttributes: {
          deliveryId: { DataType: 'String', StringValue: request.deliveryId },
          eventType: { DataType: 'String', StringValue: request.event.type },
        },
      }),
    );
  }
}
