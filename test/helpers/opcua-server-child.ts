/**
 * Child-process entry of OpcuaServerProcess: runs an OpcuaTestServer with the options given as
 * JSON in argv[2], reports {type:'ready'} and answers {type:'stats'} over the IPC channel.
 */
import { OpcuaTestServer, type OpcuaTestServerOptions } from './opcua-test-server.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as Partial<OpcuaTestServerOptions>;
const server = new OpcuaTestServer(options);
const endpoint = await server.start();
const send = (m: object): void => {
  process.send?.(m);
};
process.on('message', (m: { type: string }) => {
  if (m.type === 'stats') {
    send({
      type: 'stats',
      sessions: server.sessionCount(),
      monitoredItems: server.monitoredItemCount(),
      changes: server.changes,
      requests: Object.fromEntries(server.requests),
      cpu: process.cpuUsage(),
    });
  } else if (m.type === 'changes') {
    server.setChangeEvery((m as { type: string; everyMs: number }).everyMs);
    send({ type: 'changes' });
  } else if (m.type === 'stop') {
    void server.stop().then(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', endpoint, port: server.port });
