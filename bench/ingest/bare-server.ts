/**
 * The ceiling `npm run bench` compares the exporter with: a bare Node HTTP server that reads
 * each request body and answers 200 with a small JSON body, nothing else (no signature check, no
 * parsing, no database). Prints its port on stdout once it listens.
 */
import http from 'node:http';

const server = http.createServer((req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end('{"status":"accepted"}');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  console.log((server.address() as import('node:net').AddressInfo).port);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
