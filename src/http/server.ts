/**
 * The HTTP server around the app, with timeouts that cut slow clients: a client that trickles
 * its headers (slowloris) or its body is answered 408 and disconnected, instead of holding a
 * connection and a request slot for minutes (Node's defaults are 60 s and 300 s).
 */
import http from 'node:http';

export interface ServerTimeouts {
  /** All request headers must have arrived within this time. */
  headersMs: number;
  /** The whole request, body included, must have arrived within this time. */
  requestMs: number;
  /** How often Node checks the two limits above (it checks on an interval, not per byte). */
  checkIntervalMs: number;
}

/** Meta sends at most 3 MB per POST; 30 s allows that at 100 KB/s, and headers need no more than 10 s. */
export const SERVER_TIMEOUTS: ServerTimeouts = Object.freeze({ headersMs: 10_000, requestMs: 30_000, checkIntervalMs: 1_000 });

export function createHttpServer(handler: http.RequestListener, timeouts: ServerTimeouts = SERVER_TIMEOUTS): http.Server {
  return http.createServer(
    {
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
      connectionsCheckingInterval: timeouts.checkIntervalMs,
    },
    handler,
  );
}

/** Listens on `port`; rejects (port in use, no permission) instead of pretending to listen. */
export function listen(server: http.Server, port: number, host?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
