// A WebSocket client driver on the `ws` package, for Java tests: `node ws-client.js ws://host:port/path`.
// It reads commands from stdin, one per line, runs them one after the other, and writes what happens to stdout
// as JSON lines, each with "event" and "at" (epoch milliseconds). Every command ends with
// {"event":"done","command":...,"ok":n,"failed":n}; a step that takes longer than OP_TIMEOUT_MS (default 30 s)
// counts as failed, so "done" always comes.
//   open N                  opens N connections at once: "open" {conn, pid} (pid: the 101's X-Worker-Pid), or
//                           "failed" {conn, status, message}
//   send T text|binary B [N [MS]]  sends a message of B bytes on T (a connection number, or "all"), N times (default
//                           once), one every MS milliseconds: "echo" {conn, kind, bytes, same, ms} for each message
//                           that comes back; ok for a connection when all came back the same
//   ping T                  a ping with a random payload on T: "pong" {conn, same, ms}
//   close T [CODE]          closes T ("all", a number, or pid=P for the connections that reached worker P) with
//                           CODE (default 1000); done when their close handshakes ended
// Any close, whoever started it: "close" {conn, pid, code, reason}. End of stdin: every connection is
// terminated and the process exits.
const crypto = require('crypto');
const readline = require('readline');
const WebSocket = require('ws');

const url = process.argv[2];
const opTimeoutMs = Number(process.env.OP_TIMEOUT_MS || 30000);
const connections = new Map(); // conn number -> {socket, pid, pending: [{payload, binary, sentAt, resolve}], pongs}
let nextConn = 1;

function emit(event, fields) {
  process.stdout.write(`${JSON.stringify({ event, at: Date.now(), ...fields })}\n`);
}

function withTimeout(promise) {
  return Promise.race([promise, new Promise((resolve) => setTimeout(() => resolve(false), opTimeoutMs))]);
}

function open(conn) {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { handshakeTimeout: opTimeoutMs });
    const state = { socket, pid: null, pending: [], pongs: [] };
    let opened = false;
    socket.on('upgrade', (response) => { state.pid = Number(response.headers['x-worker-pid']) || null; });
    socket.on('unexpected-response', (request, response) => {
      emit('failed', { conn, status: response.statusCode, message: `unexpected response ${response.statusCode}` });
      request.destroy();
      resolve(false);
    });
    socket.on('open', () => {
      opened = true;
      connections.set(conn, state);
      emit('open', { conn, pid: state.pid });
      resolve(true);
    });
    socket.on('message', (data, isBinary) => {
      const sent = state.pending.shift();
      if (sent) {
        const same = isBinary === sent.binary && Buffer.compare(Buffer.from(data), sent.payload) === 0;
        emit('echo', { conn, kind: isBinary ? 'binary' : 'text', bytes: data.length, same, ms: Date.now() - sent.sentAt });
        sent.resolve(same);
      }
    });
    socket.on('pong', (data) => {
      const ping = state.pongs.shift();
      if (ping) {
        const same = Buffer.compare(data, ping.payload) === 0;
        emit('pong', { conn, same, ms: Date.now() - ping.sentAt });
        ping.resolve(same);
      }
    });
    socket.on('error', (error) => {
      if (!opened) {
        emit('failed', { conn, status: null, message: error.message });
        resolve(false);
      }
    });
    socket.on('close', (code, reason) => {
      connections.delete(conn);
      if (opened) {
        emit('close', { conn, pid: state.pid, code, reason: reason.toString() });
      }
      state.closed?.();
    });
  });
}

// Sends one message on conn; resolves with whether the same came back (false when the connection is gone).
function echo(conn, kind, bytes) {
  const state = connections.get(conn);
  if (!state) {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const data = payload(kind, bytes);
    state.pending.push({ payload: data, binary: kind === 'binary', sentAt: Date.now(), resolve });
    state.socket.send(kind === 'binary' ? data : data.toString(), { binary: kind === 'binary' });
  });
}

function targets(target) {
  if (target === 'all') {
    return [...connections.keys()];
  }
  if (target.startsWith('pid=')) {
    const pid = Number(target.slice(4));
    return [...connections.entries()].filter(([, state]) => state.pid === pid).map(([conn]) => conn);
  }
  return connections.has(Number(target)) ? [Number(target)] : [];
}

function payload(kind, bytes) {
  // Text stays valid UTF-8 (one byte per character); binary is random, so nothing is compressed or guessed.
  return kind === 'binary' ? crypto.randomBytes(bytes) : Buffer.from('x'.repeat(bytes));
}

const commands = {
  open: (n) => Array.from({ length: Number(n) }, () => open(nextConn++)),
  send: (target, kind, bytes, times = 1, everyMs = 0) => targets(target).map(async (conn) => {
    let same = true;
    for (let i = 0; i < Number(times); i += 1) {
      if (i > 0) {
        await new Promise((resolve) => setTimeout(resolve, Number(everyMs)));
      }
      same = (await withTimeout(echo(conn, kind, Number(bytes)))) && same;
    }
    return same;
  }),
  ping: (target) => targets(target).map((conn) => new Promise((resolve) => {
    const state = connections.get(conn);
    const data = crypto.randomBytes(8);
    state.pongs.push({ payload: data, sentAt: Date.now(), resolve });
    state.socket.ping(data);
  })),
  close: (target, code) => targets(target).map((conn) => new Promise((resolve) => {
    const state = connections.get(conn);
    state.closed = () => resolve(true);
    state.socket.close(Number(code || 1000));
  })),
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
  connections.forEach((state) => state.socket.terminate());
  process.exit(0);
}));
