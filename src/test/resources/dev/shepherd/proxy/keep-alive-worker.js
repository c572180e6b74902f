// A Node worker for UpstreamKeepAliveIntegrationTests: it closes idle keep-alive connections after
// KEEP_ALIVE_MS (server.keepAliveTimeout, which Node announces as `Keep-Alive: timeout=N`, N in whole seconds),
// answers every request with its method and body size, and counts its open connections on /connections.
//
// With LATE_MS set, a request that arrives on a connection idle for longer than LATE_MS is reset instead of
// answered: what a client sees when it sends on a connection the worker closed an instant before (the close and
// the request cross on the wire), made certain rather than a matter of microseconds.
const http = require('http');

const lateMs = Number(process.env.LATE_MS || 0);

const server = http.createServer((req, res) => {
  const socket = req.socket;
  if (lateMs > 0 && socket.idleSince !== undefined && Date.now() - socket.idleSince > lateMs) {
    socket.resetAndDestroy();
    return;
  }
  res.on('finish', () => { socket.idleSince = Date.now(); });
  if (req.url === '/connections') {
    server.getConnections((error, count) => res.end(String(count)));
    return;
  }
  let size = 0;
  req.on('data', (chunk) => { size += chunk.length; });
  req.on('end', () => res.end(`${req.method} ${size}\n`));
});
server.keepAliveTimeout = Number(process.env.KEEP_ALIVE_MS);
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`keep-alive worker on ${process.env.PORT}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
