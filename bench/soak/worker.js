'use strict';
// The worker of bench/soak.sh: answers any method and path, and dies on its own.
//
//   any request  -> reads the body, answers 200 with the method, the path's length and the body's length
//   after a random 1..CRASH_AFTER requests (default 300): answers, then exits with code 1 (a crash)
//   with probability DETACH_PERCENT % (default 10) at start: spawns `sleep 600` detached in a session of its
//   own and unref'd, which must die with this worker (the soak counts what is left at the end)
//
// Listens on 127.0.0.1:$PORT.
const http = require('node:http');
const { spawn } = require('node:child_process');

const port = Number(process.env.PORT);
const crashAfter = 1 + Math.floor(Math.random() * Number(process.env.CRASH_AFTER || 300));
if (Math.random() * 100 < Number(process.env.DETACH_PERCENT || 10)) {
  spawn('sleep', ['600'], { detached: true, stdio: 'ignore' }).unref();
}

let served = 0;
http.createServer((req, res) => {
  let length = 0;
  req.on('data', (chunk) => { length += chunk.length; });
  req.on('end', () => {
    const body = `${req.method} ${req.url.length} ${length}\n`;
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    if (req.url !== '/health' && ++served >= crashAfter) {
      setImmediate(() => process.exit(1));
    }
  });
}).listen(port, '127.0.0.1');
