'use strict';
// Node's cluster module in front of bench/balancing/server.js, as in the seed article: the
// primary forks WORKERS workers that all listen on PORT; on Linux the primary accepts each
// connection and hands it to the next worker in turn (cluster.SCHED_RR, the default).
//
//   PORT=8080 WORKERS=2 node bench/balancing/cluster.js
const cluster = require('node:cluster');
const path = require('node:path');

const workers = Number(process.env.WORKERS || 2);
cluster.setupPrimary({ exec: path.join(__dirname, 'server.js') });
for (let i = 0; i < workers; i++) cluster.fork();
cluster.on('listening', (worker) => console.log(`worker-listening pid=${worker.process.pid}`));
cluster.on('exit', (worker, code, signal) => console.log(`worker-death pid=${worker.process.pid} code=${code} signal=${signal}`));

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    cluster.removeAllListeners('exit');
    for (const id in cluster.workers) cluster.workers[id].process.kill('SIGTERM');
    process.exit(0);
  });
}
