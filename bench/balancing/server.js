'use strict';
// The seed article's server.js for bench/balancing.sh: every request burns CPU in the same
// loop (`for (let index = 0; index < 1e7; index++);`), then answers with the worker's pid. No
// random crash: this benchmark measures balancing, not availability.
//
// The loop is in a function of its own, burn(), not inline in the request handler as in the
// article: V8 then optimizes it apart from the handler. Inline, one deoptimization of the handler
// (V8's --trace-deopt: "wrong instance type" at its entry, at the first /uneven requests, after a
// change in the shape of Node's own request objects; the cluster's workers had it too) was, behind
// Shepherd, never followed by a re-optimization (why was not found), and the loop ran ~45 % slower
// in that worker for the rest of its life: 3.7 against 2.6 ms of CPU per request, so whichever
// target's workers hit it lost about 30 % of their throughput (bench/RESULTS.md, "A JIT cliff in
// the benchmark's server").
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
// The article's loop, in a function of its own (see the header).
function burn() {
  for (let index = 0; index < 1e7; index++);
}

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.end('ok');
    return;
  }
  const loops = req.url === '/uneven' && ++uneven % heavyEvery === 0 ? 10 : 1;
  for (let round = 0; round < loops; round++) {
    burn();
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
