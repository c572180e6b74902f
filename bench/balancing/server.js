'use strict';
// The seed article's server.js for bench/balancing.sh: every request burns CPU in the same
// loop (`for (let index = 0; index < 1e7; index++);`), then answers with the worker's pid. No
// random crash: this benchmark measures balancing, not availability.
//
//   GET /          the article's even load: one loop per request
//   GET /uneven    the uneven variant: every tenth /uneven request a worker serves runs the
//                  loop ten times (HEAVY_EVERY=10), the others once
//   GET /health    answers at once, without the loop (Shepherd's probes)
//
// Run by Shepherd (which sets PORT), by bench/balancing/cluster.js under Node's cluster module
// (every worker listens on the same PORT), or alone for nginx.
const http = require('node:http');

const port = Number(process.env.PORT);
const heavyEvery = Number(process.env.HEAVY_EVERY || 10);
const processId = process.pid;
if (!port) {
  console.error('server.js: set PORT');
  process.exit(2);
}

let uneven = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.end('ok');
    return;
  }
  const loops = req.url === '/uneven' && ++uneven % heavyEvery === 0 ? 10 : 1;
  for (let round = 0; round < loops; round++) {
    for (let index = 0; index < 1e7; index++);
  }
  res.end(`Process handled by pid: ${processId}`);
});

// Keep the proxies' upstream connections open between cases (Node closes idle ones after 5 s).
server.keepAliveTimeout = 300_000;
server.headersTimeout = 301_000;
server.listen(port, '127.0.0.1', () => {
  console.log(`balancing server ${processId} listening on 127.0.0.1:${port}; every ${heavyEvery}th /uneven request ten times heavier`);
});

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
