// A socket.io client driver on `socket.io-client`, for Java tests: `node socketio-client.js http://host:port`.
// Clients use the websocket transport only (no polling, so no sticky sessions are needed), or with
// TRANSPORTS=default socket.io's defaults: long polling first, then the upgrade to a websocket, which needs every
// request of a session on the same worker. Then they keep cookies (withCredentials: engine.io-client's cookie jar
// in Node, which sends them on polling requests and the websocket upgrade alike), as a browser would. They reconnect
// by themselves after RECONNECT_DELAY_MS (default 100) up to RECONNECT_DELAY_MAX_MS (default 1000), randomized by
// half, as socket.io does. Commands on stdin, one per line, run one after the other; what happens goes to stdout
// as JSON lines with "event" and "at" (epoch milliseconds); each command ends with
// {"event":"done","command":...,"ok":n,"failed":n} (a step past OP_TIMEOUT_MS, default 30 s, fails).
//   open N        N new clients at once; each is ok once the worker's "hello" came
//   chat C TEXT   client C sends "chat" {text: TEXT}; ok once C itself got the broadcast back
//   close T       disconnects T ("all" or a client number) for good
// Events: "hello" {conn, pid, reconnects} at every (re)connection; "chat" {conn, text, pid} for every message a
// client gets; "disconnect" {conn, pid, reason, code, status} (code: the WebSocket close code, when there was
// one; status: the HTTP status of a failed polling request); "connect-error" {conn, message, status}; "upgrade" {conn, transport} when a client moved from polling to a websocket. End of stdin: every client is closed and the process exits.
const readline = require('readline');
const { io } = require('socket.io-client');

const url = process.argv[2];
const opTimeoutMs = Number(process.env.OP_TIMEOUT_MS || 30000);
const defaultTransports = process.env.TRANSPORTS === 'default';
const clients = new Map(); // conn number -> {socket, pid, reconnects}
let nextConn = 1;

function emit(event, fields) {
  process.stdout.write(`${JSON.stringify({ event, at: Date.now(), ...fields })}\n`);
}

function withTimeout(promise) {
  return Promise.race([promise, new Promise((resolve) => setTimeout(() => resolve(false), opTimeoutMs))]);
}

function open(conn) {
  return new Promise((resolve) => {
    const socket = io(url, {
      ...(defaultTransports ? { withCredentials: true } : { transports: ['websocket'] }),
      forceNew: true,
      reconnectionDelay: Number(process.env.RECONNECT_DELAY_MS || 100),
      reconnectionDelayMax: Number(process.env.RECONNECT_DELAY_MAX_MS || 1000),
      randomizationFactor: 0.5,
      timeout: opTimeoutMs,
    });
    const state = { socket, pid: null, reconnects: -1, waiting: [] };
    clients.set(conn, state);
    socket.io.on('open', () => socket.io.engine.on('upgrade', (transport) => emit('upgrade', { conn, transport: transport.name })));
    socket.on('hello', (hello) => {
      state.pid = hello.pid;
      state.reconnects += 1;
      emit('hello', { conn, pid: hello.pid, reconnects: state.reconnects });
      resolve(true);
    });
    socket.on('chat', (message) => {
      emit('chat', { conn, text: message.text, pid: message.pid });
      const waiting = state.waiting.findIndex((w) => w.text === message.text);
      if (waiting >= 0) {
        state.waiting.splice(waiting, 1)[0].resolve(true);
      }
    });
    socket.on('disconnect', (reason, details) => {
      emit('disconnect', { conn, pid: state.pid, reason, code: details?.context?.code ?? null,
        status: typeof details?.description === 'number' ? details.description : null });
    });
    // A failed handshake says why only in the transport's error: "Unexpected server response: 200", for example.
    // A polling request the worker refused ("400 Session ID unknown") says only its status, in the description.
    socket.on('connect_error', (error) => emit('connect-error', { conn, message: error.description?.message ?? error.message,
      status: typeof error.description === 'number' ? error.description : null }));
  });
}

function targets(target) {
  return target === 'all' ? [...clients.keys()] : [Number(target)].filter((conn) => clients.has(conn));
}

const commands = {
  open: (n) => Array.from({ length: Number(n) }, () => open(nextConn++)),
  chat: (conn, ...words) => targets(conn).map((c) => new Promise((resolve) => {
    const text = words.join(' ');
    clients.get(c).waiting.push({ text, resolve });
    clients.get(c).socket.emit('chat', { text });
  })),
  close: (target) => targets(target).map((conn) => {
    clients.get(conn).socket.disconnect();
    clients.delete(conn);
    return Promise.resolve(true);
  }),
};

const lines = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on('line', (line) => {
  const [command, ...args] = line.trim().split(/\s+/);
  if (!commands[command]) {
    emit('done', { command, ok: 0, failed: 1, message: `unknown command ${command}` });
    return;
  }
  queue = queue.then(async () => {
    const results = await Promise.all(commands[command](...args).map(withTimeout));
    const ok = results.filter(Boolean).length;
    emit('done', { command, ok, failed: results.length - ok });
  });
});
lines.on('close', () => queue.then(() => {
  clients.forEach((state) => state.socket.disconnect());
  process.exit(0);
}));
