import { AddressInfo } from 'net';
import { WebSocketServer } from 'ws';

import { AckingWebSocket } from '../../src/notebook/ackingWebSocket';

/** A real `ws` server on loopback that sends `count` messages to each client and counts the pongs it gets back. */
function startServer(count: number): Promise<{ url: string; pongs: () => number; close: () => Promise<void> }> {
  return new Promise(resolve => {
    let pongs = 0;
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `ws://127.0.0.1:${port}`,
        pongs: () => pongs,
        close: () => new Promise(done => server.close(() => done()))
      });
    });
    server.on('connection', socket => {
      socket.on('pong', () => pongs++);
      for (let i = 0; i < count; i++) {
        socket.send(i % 2 ? Buffer.from([i]) : `text ${i}`);
      }
    });
  });
}

describe('AckingWebSocket', () => {
  it('delivers every message, text and binary, and answers each with a pong', async () => {
    const server = await startServer(5);
    const socket = new AckingWebSocket(server.url);
    const received: unknown[] = [];
    // @jupyterlab/services listens through the browser-style property, as here.
    socket.onmessage = event => received.push(event.data);
    while (received.length < 5 || server.pongs() < 5) {
      await new Promise(resolve => setTimeout(resolve, 10));
    }
    socket.close();
    await server.close();
    expect(received.filter(data => typeof data === 'string')).toEqual(['text 0', 'text 2', 'text 4']);
    expect(received.filter(data => typeof data !== 'string')).toHaveLength(2);
    expect(server.pongs()).toBe(5);
  });

  it('a plain ws client sends no pong (what the acking adds)', async () => {
    const server = await startServer(3);
    const { WebSocket } = await import('ws');
    const socket = new WebSocket(server.url);
    let received = 0;
    socket.onmessage = () => received++;
    while (received < 3) {
      await new Promise(resolve => setTimeout(resolve, 10));
    }
    await new Promise(resolve => setTimeout(resolve, 50));
    socket.close();
    await server.close();
    expect(server.pongs()).toBe(0);
  });
});
