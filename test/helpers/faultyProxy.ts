/**
 * An HTTP proxy on 127.0.0.1 in front of a real server, for network faults: `down` refuses every request (the
 * connection is destroyed before an answer), `dropNextResponses(n)` forwards the next n requests but destroys the
 * connection instead of passing their answers on (the server did the work; the client never hears of it).
 */
import { createServer, request as httpRequest, Server } from 'http';
import { AddressInfo } from 'net';

export interface IFaultyProxy {
  /** e.g. `http://127.0.0.1:PORT/` (the target's path prefix kept). */
  readonly baseUrl: string;
  down: boolean;
  dropNextResponses(count: number): void;
  /** Requests seen (refused and dropped included). */
  readonly requests: { method: string; url: string; fate: 'passed' | 'refused' | 'dropped'; status?: number }[];
  stop(): Promise<void>;
}

/** Start a proxy forwarding to `target` (`http://host:port/base/`). */
export async function startFaultyProxy(target: string): Promise<IFaultyProxy> {
  const upstream = new URL(target);
  let drop = 0;
  const requests: IFaultyProxy['requests'] = [];
  const server: Server = createServer((req, res) => {
    const seen: IFaultyProxy['requests'][number] = { method: req.method ?? 'GET', url: req.url ?? '/', fate: 'passed' };
    requests.push(seen);
    if (proxy.down) {
      seen.fate = 'refused';
      req.socket.destroy();
      return;
    }
    const dropThis = drop > 0;
    if (dropThis) {
      drop--;
      seen.fate = 'dropped';
    }
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      answer => {
        seen.status = answer.statusCode;
        if (dropThis) {
          answer.resume();
          answer.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      }
    );
    forward.on('error', () => req.socket.destroy());
    req.pipe(forward);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const proxy: IFaultyProxy = {
    baseUrl: `http://127.0.0.1:${port}${upstream.pathname}`,
    down: false,
    dropNextResponses: count => {
      drop = count;
    },
    requests,
    stop: () =>
      new Promise(resolve => {
        server.close(() => resolve());
        server.closeAllConnections();
      })
  };
  return proxy;
}
