// Server-Sent Events with no module at all: GET /events streams `data: <time> from pid <pid>` every second until
// the client goes away. Run it directly (PORT=3000 node examples/sse/server.js) or as Shepherd's workers: the
// events reach the client as they are sent, nothing is buffered.
const http = require('http');

const port = Number(process.env.PORT || 3000);
http.createServer((req, res) => {
  if (req.url === '/health') {
    res.end('ok');
    return;
  }
  if (req.url !== '/events') {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end('<!doctype html><pre id="log"></pre><script>new EventSource("/events").onmessage = '
        + '(e) => document.getElementById("log").append(e.data + "\\n");</script>');
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  const send = () => res.write(`data: ${new Date().toISOString()} from pid ${process.pid}\n\n`);
  send();
  const timer = setInterval(send, Number(process.env.INTERVAL_MS || 1000));
  res.on('close', () => clearInterval(timer));
}).listen(port, '127.0.0.1', () => console.log(`events on http://127.0.0.1:${port}/events (pid ${process.pid})`));
