// A worker that streams, on plain Node `http` (no module needed), listening on 127.0.0.1:$PORT. Each part it
// writes carries its send time (`sentAt`, epoch milliseconds with microseconds), so a client can tell how long
// the part took to reach it.
//   GET /health          200 "ok"
//   GET /events?count=N  Server-Sent Events: `data: {"seq":i,"sentAt":t}` every 100 ms (INTERVAL_MS), N events
//                        (default: until the client goes away), then the end of the response
//   GET /chunked?count=N a body of unknown length (chunked): one line `{"seq":i,"sentAt":t}` every 100 ms, N lines
//   GET /long-poll?ms=M  answers after M ms (default 1000) with `{"sentAt":t}` and a Content-Length
//   GET /stall           a chunked head and one line, then nothing, ever: a body that stalls
//   GET /page            an HTML page whose EventSource('/events') keeps, per event, the delay between its
//                        sentAt and its arrival in window.delays (for the browser test)
//   GET /stats           {"pid", "open": <streams not ended>, "closedEarly": <streams whose client connection
//                        closed before the worker ended them>, "closedEarlyAt": [epoch ms of the last 100]}
const http = require('http');

const pid = process.pid;
const intervalMs = Number(process.env.INTERVAL_MS || 100);
const stats = { open: 0, closedEarly: 0, closedEarlyAt: [] };

function now() {
  return performance.timeOrigin + performance.now();
}

// Counts a stream while it is open, and notes when its connection closed before the worker ended it.
function track(res) {
  stats.open += 1;
  res.on('close', () => {
    stats.open -= 1;
    if (!res.writableEnded) {
      stats.closedEarly += 1;
      stats.closedEarlyAt.push(Date.now());
      stats.closedEarlyAt.splice(0, stats.closedEarlyAt.length - 100); // the last 100 are enough for a test
    }
  });
}

// Writes `part(i)` every intervalMs, `count` times (0: until the connection closes), then ends the response.
function every(res, count, part) {
  let seq = 0;
  const timer = setInterval(() => {
    seq += 1;
    res.write(part(seq));
    if (count > 0 && seq >= count) {
      clearInterval(timer);
      res.end();
    }
  }, intervalMs);
  res.on('close', () => clearInterval(timer));
}

const page = `<!doctype html><meta charset="utf-8"><title>events</title><script>
window.delays = [];
const source = new EventSource('/events');
source.onmessage = (message) => window.delays.push(performance.timeOrigin + performance.now() - JSON.parse(message.data).sentAt);
</script>`;

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://worker');
  const count = Number(url.searchParams.get('count') || 0);
  switch (url.pathname) {
    case '/health':
      res.end('ok');
      break;
    case '/events':
      track(res);
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      res.flushHeaders();
      every(res, count, (seq) => `data: ${JSON.stringify({ seq, sentAt: now() })}\n\n`);
      break;
    case '/chunked':
      track(res);
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
      res.flushHeaders();
      every(res, count, (seq) => `${JSON.stringify({ seq, sentAt: now() })}\n`);
      break;
    case '/long-poll': {
      track(res);
      const timer = setTimeout(() => {
        const body = JSON.stringify({ sentAt: now() });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      }, Number(url.searchParams.get('ms') || 1000));
      res.on('close', () => clearTimeout(timer));
      break;
    }
    case '/stall':
      track(res);
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('first part\n');
      break;
    case '/page':
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(page);
      break;
    case '/stats':
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ pid, ...stats }));
      break;
    default:
      res.statusCode = 404;
      res.end('not found');
  }
});

server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`streaming worker ${pid} listening on ${process.env.PORT}`));
process.on('SIGTERM', () => process.exit(0));
