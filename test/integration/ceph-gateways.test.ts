// The Ceph provider's gateway control against real sockets on loopback: a gateway that answers, one
// that is down (connection refused), and one that accepts and never answers (as RGW does when a realm
// reload leaves its frontends paused) — which is restarted, not skipped as down.
import { createServer as createHttpServer, Server } from 'node:http';
import { createServer as createTcpServer, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { cephProcesses } from '../../activities/replication/ceph-processes';
import type { ZonegroupInfo } from '../../core/ceph-sync';

const listen = (server: { listen: (port: number, host: string, cb: () => void) => unknown }) =>
  new Promise<number>((resolve) => {
    const s = server as unknown as Server;
    s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port));
  });

const procs = cephProcesses({ restartTimeoutMs: 10_000, gatewayReadyTimeoutMs: 10_000 });

// A gateway that accepts connections and answers only once "restarted" (its restart command calls /fix).
let paused = true;
const sockets: Socket[] = [];
const gateway = createTcpServer((socket) => {
  sockets.push(socket);
  // Reads the request; answers it only when not paused (a paused one keeps the socket open, silent).
  socket.on('data', () => {
    if (!paused) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
});
const control = createHttpServer((_req, res) => {
  paused = false;
  res.end('restarted');
});
let gatewayPort = 0;
let controlPort = 0;

beforeAll(async () => {
  gatewayPort = await listen(gateway);
  controlPort = await listen(control);
});
afterAll(() => {
  for (const s of sockets) s.destroy();
  gateway.close();
  control.close();
});

const zonegroup = (port: number): ZonegroupInfo =>
  ({
    name: 'lab',
    masterZone: 'a',
    zones: [{ id: 'a', name: 'a', endpoints: [`http://127.0.0.1:${port}`] }],
  }) as never;

it('tells up, down and hung gateways apart', async () => {
  const up = createHttpServer((_q, r) => r.end('ok'));
  const upPort = await listen(up);
  expect(await procs.gatewayState(`http://127.0.0.1:${upPort}/`)).toBe('up');
  up.close();
  // A port nothing listens on refuses the connection.
  const closed = createTcpServer();
  const closedPort = await listen(closed);
  closed.close();
  expect(await procs.gatewayState(`http://127.0.0.1:${closedPort}/`)).toBe('down');
  expect(await procs.gatewayState(`http://127.0.0.1:${gatewayPort}/`)).toBe('hung');
});

it('restarts a hung gateway after a change (and waits until it answers); leaves a down one alone', async () => {
  paused = true;
  const restart = [
    process.execPath,
    '-e',
    `fetch('http://127.0.0.1:${controlPort}/fix').then(r => r.text())`,
  ];
  const hung = { zone: 'a', zonegroup: 'lab', restartCommand: restart };
  const steps = await procs.restartLiveGateways([hung], zonegroup(gatewayPort));
  expect(steps).toEqual([
    expect.stringMatching(
      /zone a: the gateway did not answer within 3 s \(paused by a realm reload\?\): restarted the gateway of zone a/,
    ),
  ]);
  expect(await procs.gatewayState(`http://127.0.0.1:${gatewayPort}/`)).toBe('up');

  const closed = createTcpServer();
  const closedPort = await listen(closed);
  closed.close();
  const down = await procs.restartLiveGateways([hung], zonegroup(closedPort));
  expect(down).toEqual([expect.stringMatching(/zone a: gateway down, not restarted/)]);
}, 60_000);
