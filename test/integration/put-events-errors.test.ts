import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { apiClient } from '../support/api-client.js';
import { eventually } from '../support/eventually.js';
import { type RunningPlatform, startPlatformProcess } from '../support/local-platform-process.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * PutEvents in local mode (`npm start`) refuses a malformed request as EventBridge does: HTTP 400 with the error's
 * name in `__type` (what the AWS SDK raises), never a 5xx, and none of its entries published. Over real HTTP, with
 * the real EventBridge client where it can send the request.
 */
const KEY = 'put-events-key';
const HOOK = '/ok/put-events';
/** EventBridge's limit on a request's entries together. */
const MAX_ENTRIES_BYTES = 256 * 1024;
const ORDER = { orderId: 'o', customerId: 'c', total: { amount: 1, currency: 'EUR' }, lines: [{ sku: 's', quantity: 1 }] };

let platform: RunningPlatform;
let receiver: WebhookReceiver;
let events: EventBridgeClient;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  platform = await startPlatformProcess({ DEV_API_KEY: KEY });
  events = new EventBridgeClient({ region: 'us-east-1', endpoint: platform.url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const call = apiClient(() => platform.url, KEY);
  const created = await call('POST', '/v1/webhooks', { body: { url: receiver.url(HOOK), events: ['order.created'] } });
  expect(created.status).toBe(201);
});
afterAll(async () => {
  events?.destroy();
  await platform?.stop();
  await receiver?.stop();
});

/** An order.created event of tenant `dev`, which the webhook at HOOK receives unless its request is refused. */
const entry = (id: string, tenantId = 'dev', note = ''): PutEventsRequestEntry => ({
  Source: 'shop.orders',
  DetailType: 'order.created',
  Detail: JSON.stringify({ tenantId, id, data: { ...ORDER, note } }),
});
/** An entry of `bytes` as EventBridge counts them (Source, DetailType and Detail, in UTF-8), of a tenant without webhooks. */
const entryOfSize = (id: string, bytes: number): PutEventsRequestEntry => {
  const size = ({ Source, DetailType, Detail }: PutEventsRequestEntry) => Buffer.byteLength(`${Source}${DetailType}${Detail}`);
  return entry(id, 'nobody', 'x'.repeat(bytes - size(entry(id, 'nobody'))));
};
const eleven = (prefix: string) => Array.from({ length: 11 }, (_, index) => entry(`${prefix}-${index}`));

const putEvents = async (body: string | Uint8Array, headers: Record<string, string> = {}) => {
  const response = await fetch(platform.url, {
    method: 'POST',
    headers: { 'x-amz-target': 'AWSEvents.PutEvents', 'content-type': 'application/x-amz-json-1.1', ...headers },
    body,
  });
  return { status: response.status, contentType: response.headers.get('content-type'), body: await response.json() };
};

describe('PutEvents in local mode, given a malformed request', () => {
  const wellFormed = (id: string) => JSON.stringify({ Entries: [entry(id)] });

  it.each([
    ['bytes that are not JSON', 'SerializationException', Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x7b]), {}],
    ['a JSON array', 'SerializationException', JSON.stringify([entry('evt-refused-array')]), {}],
    ['a JSON string', 'SerializationException', JSON.stringify('Entries'), {}],
    ['Entries that is not a list', 'SerializationException', JSON.stringify({ Entries: entry('evt-refused-not-a-list') }), {}],
    ['an entry that is not a structure', 'SerializationException', JSON.stringify({ Entries: ['order.created'] }), {}],
    ['a member of another type', 'SerializationException', JSON.stringify({ Entries: [{ ...entry('evt-refused-type'), Source: 42 }] }), {}],
    ['a Time that is no time', 'SerializationException', JSON.stringify({ Entries: [{ ...entry('evt-refused-time'), Time: 'yesterday' }] }), {}],
    ['a body sent as application/json', 'SerializationException', wellFormed('evt-refused-content-type'), { 'content-type': 'application/json' }],
    ['a body with an empty content type', 'SerializationException', wellFormed('evt-refused-empty-content-type'), { 'content-type': '' }],
    ['another operation', 'UnknownOperationException', wellFormed('evt-refused-operation'), { 'x-amz-target': 'AWSEvents.PutRule' }],
    ['an empty body', 'ValidationException', '', {}],
    ['no entries', 'ValidationException', JSON.stringify({ Entries: [] }), {}],
    ['eleven entries', 'ValidationException', JSON.stringify({ Entries: eleven('evt-refused-raw') }), {}],
  ])('answers %s with 400 %s', async (_request, type, body, headers) => {
    const response = await putEvents(body, headers);
    expect(response).toEqual({
      status: 400,
      contentType: 'application/x-amz-json-1.1',
      body: { __type: type, message: expect.any(String) },
    });
  });

  it('accepts a content type with parameters, as AWS JSON 1.1 servers must', async () => {
    const response = await putEvents(JSON.stringify({ Entries: [entry('evt-charset', 'nobody')] }), {
      'content-type': 'application/x-amz-json-1.1; charset=utf-8',
    });
    expect(response).toMatchObject({ status: 200, body: { FailedEntryCount: 0 } });
  });

  it('refuses more than ten entries, which the SDK raises as ValidationException', async () => {
    await expect(events.send(new PutEventsCommand({ Entries: eleven('evt-refused-sdk') }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining("at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10"),
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('refuses entries over 256 KB together, each under it, and accepts them at 256 KB', async () => {
    const half = MAX_ENTRIES_BYTES / 2;
    await expect(
      events.send(new PutEventsCommand({ Entries: [entry('evt-refused-oversized', 'dev', 'x'.repeat(half)), entryOfSize('evt-oversized', half)] })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Total size of the entries in the request is over the limit.',
      $metadata: { httpStatusCode: 400 },
    });
    const atTheLimit = await events.send(new PutEventsCommand({ Entries: [entryOfSize('evt-limit-1', half), entryOfSize('evt-limit-2', half)] }));
    expect(atTheLimit.FailedEntryCount).toBe(0);
    const overByOne = [entryOfSize('evt-over-1', half), entryOfSize('evt-over-2', half + 1)];
    await expect(events.send(new PutEventsCommand({ Entries: overByOne }))).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('still answers entry by entry for a well-formed request, as before', async () => {
    const answer = await events.send(
      new PutEventsCommand({ Entries: [entry('evt-other-tenant', 'nobody'), { Source: 'shop.orders', DetailType: 'order.created' }, { ...entry('x'), Detail: '[1]' }] }),
    );
    expect(answer.FailedEntryCount).toBe(2);
    expect(answer.Entries).toEqual([
      { EventId: expect.any(String) },
      { ErrorCode: 'InvalidArgument', ErrorMessage: expect.any(String) },
      { ErrorCode: 'MalformedDetail', ErrorMessage: expect.any(String) },
    ]);
  });

  // Runs last: every refused request above carried tenant dev's events, which the webhook would have received.
  it('publishes none of a refused request’s entries: the webhook receives only the event published after them', async () => {
    const published = await events.send(new PutEventsCommand({ Entries: [entry('evt-after-the-refused')] }));
    expect(published.FailedEntryCount).toBe(0);
    const eventIds = () => receiver.at(HOOK).map((request) => request.headers['webhook-id']);
    await eventually(async () => eventIds().includes('evt-after-the-refused') || undefined, 30_000, 'the event published last delivered');
    expect(eventIds()).toEqual(['evt-after-the-refused']);
  });
});
