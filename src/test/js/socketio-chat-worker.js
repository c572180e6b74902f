// A socket.io chat worker, the kind of app people move from PM2: one HTTP server on 127.0.0.1:$PORT that
// serves plain HTTP and socket.io (websocket and polling transports, socket.io's defaults) on the same port.
//   GET /health       200 "ok" (Shepherd's readiness and liveness probe)
//   GET /connections  {"pid": ..., "open": <connected socket.io clients>}
//   GET anything else {"pid": ...} (plain traffic beside the sockets)
//   socket.io: each new connection gets "hello" {pid}; a "chat" {text} from any client is broadcast to every
//   client of this worker as "chat" {text, pid}.
// With RECORD_FILE set, the worker appends one JSON line per connection, disconnection and stop signal, with the
// time in epoch milliseconds and the clients connected then. On SIGTERM it waits 200 ms, writes
// {"event":"sigterm","pid","at": <when the signal came>,"open": <clients still connected>} and exits: closes
// that crossed the signal on the wire are not counted as open.
const fs = require('fs');
const http = require('http');
const { Server } = require('socket.io');

const pid = process.pid;
const record = process.env.RECORD_FILE;

function note(event, fields) {
  if (record) {
    fs.appendFileSync(record, `${JSON.stringify({ event, pid, at: Date.now(), open: io.engine.clientsCount, ...fields })}\n`);
  }
}

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.end('ok');
    return;
  }
  const body = req.url === '/connections' ? { pid, open: io.engine.clientsCount } : { pid };
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(body));
});

const io = new Server(server, { serveClient: false });
io.on('connection', (socket) => {
  note('connect', { id: socket.id });
  socket.emit('hello', { pid });
  socket.on('chat', (message) => io.emit('chat', { text: String(message?.text ?? ''), pid }));
  socket.on('disconnect', (reason) => note('disconnect', { id: socket.id, reason }));
});

server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`socket.io worker ${pid} listening on ${process.env.PORT}`));
process.on('SIGTERM', () => {
  const at = Date.now();
  setTimeout(() => {
    note('sigterm', { at });
    process.exit(0);
  }, 200);
});
