'use strict';
// The trivial upstream of bench/throughput.sh: the same processes serve nginx and
// Shepherd, because Shepherd spawns them (--fleet.worker.command=node,bench/upstream/server.js)
// and nginx is pointed at the ports Shepherd gave them.
//
//   GET /     -> "ok"
//   GET /16k  -> 16 KiB body
//   GET /1m   -> 1 MiB body
//   POST any  -> reads the whole body, answers its length in bytes
//   GET /sleep?ms=N -> "ok" after N ms (at most 60,000): a request a worker holds (bench/slowloris.sh)
//   any other GET (including /health, Shepherd's readiness probe) -> 200 "ok"
//
// Listens on 127.0.0.1:$PORT.
const http = require('node:http');

const port = Number(process.env.PORT);
if (!port) {
  console.error('server.js: set PORT');
  process.exit(2);
}

const bodies = {
  '/16k': Buffer.alloc(16 * 1024, 'x'),
  '/1m': Buffer.alloc(1024 * 1024, 'x'),
};
const ok = Buffer.from('ok');

const server = http.createServer((req, res) => {
  if (req.method === 'POST' || req.method === 'PUT') {
    let length = 0;
    req.on('data', (chunk) => { length += chunk.length; });
    req.on('end', () => {
      const answer = String(length);
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(answer) });
      res.end(answer);
    });
    return;
  }
  if (req.url.startsWith('/sleep?ms=')) {
    const ms = Math.min(Number(req.url.slice('/sleep?ms='.length)) || 0, 60_000);
    setTimeout(() => {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': ok.length });
      res.end(ok);
    }, ms);
    return;
  }
  const body = bodies[req.url] || ok;
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});

// Keep the proxies' upstream connections open between benchmark cases: Node's
// default 5 s keep-alive timeout would make every proxy reconnect after a pause.
server.keepAliveTimeout = 300_000;
server.headersTimeout = 301_000;
server.listen(port, '127.0.0.1', () => {
  console.log(`upstream ${process.pid} listening on 127.0.0.1:${port}`);
});

// Graceful on TERM (finish what is in flight), but never linger past 5 s.
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5000).unref();
});
process.on('SIGINT', () => process.exit(0));
