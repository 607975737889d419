/**
 * A loopback proxy in front of PostgreSQL that counts what clients send (frontend protocol
 * messages): simple queries ('Q'), and in the extended protocol parses ('P'), executes ('E') and
 * syncs ('S'). Statements = Q + E; round trips = Q + S (node-postgres sends a query's
 * parse/bind/execute/sync together and waits); BEGIN/COMMIT/ROLLBACK are counted apart. Used by
 * `npm run bench` to count the statements per webhook; not in the timed runs (it adds a hop).
 */
import net from 'node:net';

export interface Counts {
  statements: number;
  roundTrips: number;
  parses: number;
  transactions: number;
}

export async function startCountingProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
): Promise<{ port: number; counts: Counts; reset(): void; close(): Promise<void> }> {
  const counts: Counts = { statements: 0, roundTrips: 0, parses: 0, transactions: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    for (const s of [client, upstream]) s.on('error', () => undefined);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    upstream.pipe(client);
    let buffer = Buffer.alloc(0);
    let started = false;
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (!started) {
          // The startup message has no type byte: length, protocol, parameters.
          if (buffer.length < 4) return;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) return;
          buffer = buffer.subarray(length);
          started = true;
          continue;
        }
        if (buffer.length < 5) return;
        const type = String.fromCharCode(buffer[0]!);
        const length = buffer.readInt32BE(1);
        if (buffer.length < 1 + length) return;
        const body = buffer.subarray(5, 1 + length);
        count(type, body);
        buffer = buffer.subarray(1 + length);
      }
    });
  });
  const isTransactionControl = (sql: string) => /^\s*(BEGIN|COMMIT|ROLLBACK)\b/i.test(sql);
  let lastParsed = '';
  function count(type: string, body: Buffer): void {
    if (type === 'Q') {
      const sql = body.toString('utf8', 0, Math.max(0, body.length - 1));
      counts.roundTrips += 1;
      if (/^\s*BEGIN\b/i.test(sql)) counts.transactions += 1;
      if (!isTransactionControl(sql)) counts.statements += 1;
    } else if (type === 'P') {
      counts.parses += 1;
      const nameEnd = body.indexOf(0);
      lastParsed = body.toString('utf8', nameEnd + 1, body.indexOf(0, nameEnd + 1));
    } else if (type === 'E') {
      if (!isTransactionControl(lastParsed)) counts.statements += 1;
    } else if (type === 'S') {
      counts.roundTrips += 1;
    }
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    counts,
    reset() {
      Object.assign(counts, { statements: 0, roundTrips: 0, parses: 0, transactions: 0 });
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
