'use strict';
// The seed experiment of the Node "cluster high availability" article, kept as
// the baseline Shepherd is measured against (bench/availability.sh).
//
// The primary forks one worker per CPU and forks a replacement whenever a
// worker dies unexpectedly. Each worker burns CPU on every request and, unless
// CRASH_WITHIN_MS=0, calls process.exit(1) at a random moment within 10 s.
//
//   PORT=8080 node bench/node-cluster/cluster.js
//   PORT=8080 CRASH_WITHIN_MS=0 node bench/node-cluster/cluster.js   # no random crash
//   WORKERS=4 ...                                                     # default: CPU count
//
// The primary prints one line per worker death ("worker-death pid=...") and one per
// worker that started listening ("worker-listening pid=..."), so a benchmark can count
// deaths and pick only serving workers as victims, as it does with Shepherd's READY ones.
const cluster = require('node:cluster');
const http = require('node:http');
const os = require('node:os');

const port = Number(process.env.PORT || 8080);
const host = process.env.HOST || '127.0.0.1';
const crashWithinMs = Number(process.env.CRASH_WITHIN_MS ?? 10000);
const workers = Number(process.env.WORKERS || os.cpus().length);

if (cluster.isPrimary) {
  console.log(`primary ${process.pid}: forking ${workers} workers, port ${port}, ` +
    (crashWithinMs > 0 ? `each crashes within ${crashWithinMs} ms` : 'no random crash'));
  for (let i = 0; i < workers; i++) cluster.fork();

  cluster.on('listening', (worker) => {
    console.log(`worker-listening pid=${worker.process.pid}`);
  });

  cluster.on('exit', (worker, code, signal) => {
    console.log(`worker-death pid=${worker.process.pid} code=${code} signal=${signal}`);
    if (code !== 0 && !worker.exitedAfterDisconnect) {
      cluster.fork();
    }
  });

  // Stop the workers with us, so a benchmark that kills the primary leaves nothing behind.
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => {
      cluster.removeAllListeners('exit');
      for (const id in cluster.workers) cluster.workers[id].process.kill('SIGTERM');
      process.exit(0);
    });
  }
} else {
  http.createServer((req, res) => {
    for (let i = 0; i < 1e7; i++); // CPU work per request, as in the article
    res.end(`Process handled by pid: ${process.pid}`);
  }).listen(port, host);

  if (crashWithinMs > 0) {
    setTimeout(() => process.exit(1), Math.random() * crashWithinMs);
  }
}
