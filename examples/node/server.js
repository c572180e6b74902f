// A plain Node HTTP server run as a Shepherd worker: it listens on the port Shepherd gives it in PORT.
const http = require('http');

const port = Number(process.env.PORT || 3000);
const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.end('ok');
    return;
  }
  res.end(`Hello from node, pid ${process.pid}\n`);
});
server.keepAliveTimeout = 65000; // longer than Shepherd keeps idle connections, so the proxy closes them first
server.listen(port, '127.0.0.1', () => console.log(`node worker ${process.pid} listening on ${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
