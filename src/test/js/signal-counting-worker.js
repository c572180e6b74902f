// A worker that counts the signals it handles, on plain Node `http` (no module needed), listening on
// 127.0.0.1:$PORT. It handles HUP and USR2 (counts them, keeps serving) and leaves INT to Node's default, which
// ends the process. It starts one child, `sleep`, that handles no signal: a signal sent to the whole process tree
// would end it.
//   GET /health   200 "ok"
//   GET /counts   {"pid", "HUP": n, "USR2": n, "child": <the child's pid>, "childAlive": <whether it runs>}
// Each signal handled is also written to stdout: `got SIGUSR2 (1)`.
const http = require('http');
const { spawn } = require('child_process');

const counts = { HUP: 0, USR2: 0 };
for (const name of Object.keys(counts)) {
  process.on('SIG' + name, () => {
    counts[name] += 1;
    console.log(`got SIG${name} (${counts[name]})`);
  });
}

const child = spawn('sleep', ['100000'], { stdio: 'ignore' });
let childAlive = true;
child.on('exit', () => { childAlive = false; });
process.on('exit', () => child.kill('SIGKILL'));
process.on('SIGTERM', () => process.exit(0));

http.createServer((req, res) => {
  if (req.url === '/counts') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ pid: process.pid, ...counts, child: child.pid, childAlive }));
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end(req.url === '/health' ? 'ok' : `Process handled by pid: ${process.pid}\n`);
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`listening on ${process.env.PORT}`));
