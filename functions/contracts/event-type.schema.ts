import * as z from 'zod';

export const EventTypeSummary = z
  .object({
    name: z.string(),
    description: z.string(),
    inUse: z.boolean().describe('False while producers do not publish it yet; it can be subscribed to anyway.'),
    subscribable: z.boolean().describe('False only for `ping`, which is sent on request.'),
    publishedBy: z
      .enum(['producers', 'platform'])
      .describe(
        'Who publishes it: `producers` (domain events, which your services publish through EventBridge) or `platform` (the platform itself: `ping` and its operational events, such as `webhook.disabled` and `delivery.exhausted`).',
      ),
    example: z.unknown().describe('An example `data` payload.'),
    schema: z.record(z.string(), z.unknown()).describe('JSON Schema (2020-12) of the event `data`.'),
  })
  .meta({ id: 'EventType' });

export const EventTypeList = z.object({ data: z.array(EventTypeSummary) }).meta({ id: 'EventTypeList' });
