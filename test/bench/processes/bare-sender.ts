import { createHmac, randomBytes } from 'node:crypto';
import { Agent } from 'undici';
import { serveParent } from '../lib/child.js';
import { makeEvent } from '../lib/fixtures.js';
import { cpuMs, latencySummary, round } from '../lib/stats.js';

/**
 * The throughput baseline: a bare undici keep-alive POST loop, batches of 10 requests in parallel like the
 * worker's batches, each body signed with the same two HMAC-SHA256 signatures (Standard Webhooks and
 * X-Hub-Signature-256). No storage, no logging, no validation.
 */
const secret = `whsec_${randomBytes(32).toString('base64')}`;
const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
let agent: Agent | undefined;
let origin = '';
let runs = 0;
let count = 0;

const post = async (index: number) => {
  const event = makeEvent(`evt_bare_${runs}_${index}`);
  const body = JSON.stringify(event);
  const timestamp = Math.floor(Date.now() / 1000);
  const response = await agent!.request({
    origin,
    path: `/hook/${index % 10}`,
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'bench',
      'webhook-id': event.id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': `v1,${createHmac('sha256', key).update(`${event.id}.${timestamp}.${body}`).digest('base64')}`,
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    },
    body,
  });
  await response.body.text();
  return response.statusCode;
};

serveParent({
  setup: ({ sinkUrl }: { sinkUrl: string }) => {
    agent = new Agent();
    origin = new URL(sinkUrl).origin;
    return null;
  },
  prepare: ({ count: next }: { count: number }) => {
    runs += 1;
    count = next;
    return null;
  },
  run: async () => {
    const batchMs: number[] = [];
    let failures = 0;
    const cpuBefore = cpuMs();
    const started = performance.now();
    for (let offset = 0; offset < count; offset += 10) {
      const batchStarted = performance.now();
      const statuses = await Promise.all(
        Array.from({ length: Math.min(10, count - offset) }, (_, index) => post(offset + index)),
      );
      batchMs.push(performance.now() - batchStarted);
      failures += statuses.filter((status) => status !== 200).length;
    }
    const wallMs = performance.now() - started;
    return {
      deliveries: count - failures,
      failures,
      wallMs: round(wallMs, 3),
      cpuMs: round(cpuMs() - cpuBefore, 3),
      batchMs: latencySummary(batchMs),
      logBytes: 0,
      logLines: 0,
    };
  },
});
