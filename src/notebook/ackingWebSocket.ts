/**
 * A kernel websocket client for Jupyter servers that leave Nagle's algorithm on (every stock Jupyter Server:
 * jupyter_server's kernel websocket handler never sets TCP_NODELAY). Node only.
 *
 * On such a server each execution stalls ~40 ms: the server sends `busy`, and holds the next small frames until
 * that one is acknowledged, while Linux delays the client's ACK for up to 40 ms. This client answers every frame it
 * receives with an unsolicited pong (RFC 6455 5.5.3: a pong may be sent unsolicited, no reply is expected), so the
 * ACK leaves at once, riding on the pong. (A ping would draw a pong from the server: itself a small frame in flight
 * that holds back the next execution's first message.) Cost: one 6-byte frame upstream per message received.
 * bench/README.md section 1 has the measurements.
 */
import NodeWebSocket from 'ws';

/** A `ws` WebSocket that sends a pong after every message it receives (see the module doc). */
export class AckingWebSocket extends NodeWebSocket {
  constructor(address: string | URL, protocols?: string | string[]) {
    super(address, protocols);
    this.on('message', () => {
      if (this.readyState === NodeWebSocket.OPEN) {
        this.pong();
      }
    });
  }
}
