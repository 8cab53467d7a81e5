import { startEmbeddedDynamoDb } from '../../../local/embedded-dynamodb.ts';
import { createDocumentClient } from '../../../functions/adapters/dynamodb/document-client.ts';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { spawn } from 'node:child_process';
import { cpuMs } from '../lib/stats.ts';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
// dynalite in a child process so this process only measures the client
const child = spawn(process.execPath, ['--import', 'tsx', '-e', `
import('/work/main/local/embedded-dynamodb.ts').then(async (m) => { const d = await m.startEmbeddedDynamoDb(); 
const http = await import('node:http'); let conns = 0; 
console.log(d.endpoint); })`], { stdio: ['ignore', 'pipe', 'inherit'] });
const endpoint: string = await new Promise((r) => child.stdout!.once('data', (b) => r(String(b).trim())));
const db = createDocumentClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
const { createTableIfMissing } = await import('../../../functions/adapters/dynamodb/create-table.ts');
await createTableIfMissing(new DynamoDBClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }), 't');
const get = () => db.send(new GetCommand({ TableName: 't', Key: { pk: 'x', sk: 'y' }, ConsistentRead: true })).catch((e) => e.name);
console.log(await get());
const session = new Session(); session.connect(); await session.post('Profiler.enable'); await session.post('Profiler.start');
const c = cpuMs(); const t = performance.now();
for (let i = 0; i < 2000; i++) await get();
console.log('cpu/call', (cpuMs() - c) / 2000, 'wall/call', (performance.now() - t) / 2000);
const { profile } = await session.post('Profiler.stop');
writeFileSync('/tmp/sdk.cpuprofile', JSON.stringify(profile));
child.kill(); process.exit(0);
