// A WebSocket echo worker built on the `ws` package, as an app moved from PM2 would be: one HTTP server on
// 127.0.0.1:$PORT that answers plain HTTP and upgrades WebSocket handshakes on the same port.
//   GET /health       200 "ok" (Shepherd's readiness and liveness probe)
//   GET /connections  {"pid": ..., "open": <open WebSockets>}
//   GET anything else {"pid": ...}
//   WebSocket, any path but /refuse: every message comes back as it came (text as text, binary as binary); pings
//   are answered with pongs by `ws` itself. The 101 response carries `X-Worker-Pid`, so a client knows which
//   worker it reached without a message of its own on the socket.
//   WebSocket handshake on /refuse: an ordinary `403 Forbidden` with a body, as an app that turns a client away.
//   An upgrade to anything but websocket (h2c, ...) that reaches the worker: `400` "not a websocket upgrade: <token>",
//   so a test sees which upgrades a proxy forwarded.
// Needs the `ws` module (NODE_PATH=target/js/node_modules, see dev.shepherd.testsupport.NodeModules).
const http = require('http');
const { WebSocketServer } = require('ws');

const pid = process.pid;

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.end('ok');
    return;
  }
  const body = req.url === '/connections' ? { pid, open: wss.clients.size } : { pid };
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(body));
});

// 16 MiB: above the 1 MiB messages of the tests, below ws's 100 MiB default, so a runaway client is refused.
const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
wss.on('headers', (headers) => headers.push(`X-Worker-Pid: ${pid}`));
// A plain answer that ends the connection, written on the raw socket of an upgrade request.
function refuse(socket, status, body) {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\n`
    + `Content-Length: ${Buffer.byteLength(body)}\r\nX-Worker-Pid: ${pid}\r\n\r\n${body}`);
}

server.on('upgrade', (req, socket, head) => {
  const protocol = String(req.headers.upgrade).toLowerCase();
  if (protocol !== 'websocket') {
    refuse(socket, '400 Bad Request', `not a websocket upgrade: ${protocol}`);
  } else if (req.url === '/refuse') {
    refuse(socket, '403 Forbidden', 'refused');
  } else {
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  }
});
wss.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  socket.on('error', () => socket.terminate());
});

server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`ws echo worker ${pid} listening on ${process.env.PORT}`));
process.on('SIGTERM', () => process.exit(0));
