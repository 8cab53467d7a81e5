import type { RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { serviceOfRequestListener } from './in-process-transport.js';

/**
 * dynalite, a DynamoDB-compatible server on LevelDB, on a loopback port and as an in-process service (for the
 * platform's own clients: see InProcessRequestHandler). With `path` the data survives restarts; without it the store
 * is in memory (tests).
 */
export const startEmbeddedDynamoDb = async (options: { path?: string } = {}) => {
  const server: Server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...options });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    service: serviceOfRequestListener(server.listeners('request')[0] as RequestListener),
    stop: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
};
