// A socket.io chat, as it would run under PM2 or `node server.js`: one HTTP server on $PORT (3000 when run
// directly) that serves the chat page and socket.io on the same port. Behind Shepherd, run one per worker:
// WebSockets pass through as tunnels; with sticky sessions on, the long-polling transport works across workers too.
const http = require('http');
const { Server } = require('socket.io');

const port = Number(process.env.PORT || 3000);
const page = `<!doctype html><meta charset="utf-8"><title>chat</title>
<script src="/socket.io/socket.io.js"></script>
<ul id="log"></ul><form id="f"><input id="m" autocomplete="off"><button>Send</button></form>
<script>
  const socket = io({ transports: ['websocket'] });
  const log = (text) => { const li = document.createElement('li'); li.textContent = text; document.getElementById('log').append(li); };
  socket.on('hello', (m) => log('connected to worker pid ' + m.pid));
  socket.on('chat', (m) => log('[pid ' + m.pid + '] ' + m.text));
  document.getElementById('f').onsubmit = (e) => { e.preventDefault(); socket.emit('chat', document.getElementById('m').value); };
</script>`;

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.end('ok');
  } else if (req.url === '/') {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(page);
  } else {
    res.statusCode = 404;
    res.end();
  }
});
const io = new Server(server);
io.on('connection', (socket) => {
  socket.emit('hello', { pid: process.pid });
  // A chat message is a string, or {text} as socket.io clients often send it.
  socket.on('chat', (message) => io.emit('chat', { pid: process.pid, text: String(message?.text ?? message) }));
});
server.listen(port, '127.0.0.1', () => console.log(`chat on http://127.0.0.1:${port}/ (pid ${process.pid})`));
