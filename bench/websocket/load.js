'use strict';
// The WebSocket load client of bench/websocket.sh, on the `ws` package (NODE_PATH: the target/js/node_modules
// that the script installs from src/test/js/package-lock.json). The same client measures every target.
//
//   node load.js echo URLS CONNECTIONS SECONDS BYTES
//       Opens CONNECTIONS WebSockets, spread round-robin over URLS (comma-separated ws:// URLs), all before the
//       clock starts; then each connection does echo round trips of a BYTES-byte text message, one at a time,
//       for SECONDS. Prints one JSON line: {"mode":"echo","connections","opened","messages","seconds","rate",
//       "p50_us","p99_us","errors","failure"} (rate: round trips per second over all connections; p50/p99 of
//       the round-trip times; failure: the first handshake or socket error, null when none).
//   node load.js idle URLS CONNECTIONS
//       Opens CONNECTIONS WebSockets (200 handshakes at a time) and holds them without a byte of traffic; prints
//       {"mode":"idle","opened","failed","failure"} once every handshake ended, then keeps them open until its
//       stdin closes or it gets SIGTERM.
// Exit code 2 when a handshake failed (the script then marks the target as not measured), 0 otherwise.
const WebSocket = require('ws');

const [mode, urlList, connectionsArg, secondsArg, bytesArg] = process.argv.slice(2);
const urls = urlList.split(',');
const connections = Number(connectionsArg);
let failure = null;

function print(fields) {
  process.stdout.write(`${JSON.stringify({ mode, connections, ...fields, failure })}\n`);
}

// Resolves with the open socket, or with null when the handshake failed (the first reason is kept).
function connect(i) {
  return new Promise((resolve) => {
    const socket = new WebSocket(urls[i % urls.length], { handshakeTimeout: 10000, perMessageDeflate: false });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (request, response) => {
      failure ??= `unexpected server response: ${response.statusCode}`;
      request.destroy();
      resolve(null);
    });
    socket.once('error', (error) => {
      failure ??= error.message;
      resolve(null);
    });
  });
}

async function openAll(batch) {
  const sockets = [];
  for (let first = 0; first < connections; first += batch) {
    const count = Math.min(batch, connections - first);
    sockets.push(...await Promise.all(Array.from({ length: count }, (_, k) => connect(first + k))));
  }
  return sockets.filter(Boolean);
}

// One connection's round trips until the deadline; each round trip's time goes into `times` (microseconds).
function roundTrips(socket, message, deadline, times, counts) {
  return new Promise((resolve) => {
    let sentAt = 0n;
    const send = () => {
      sentAt = process.hrtime.bigint();
      socket.send(message);
    };
    socket.on('message', () => {
      const micros = Number(process.hrtime.bigint() - sentAt) / 1000;
      if (counts.messages < times.length) {
        times[counts.messages] = micros;
      }
      counts.messages += 1;
      if (process.hrtime.bigint() < deadline) {
        send();
      } else {
        resolve();
      }
    });
    socket.on('close', () => {
      counts.errors += 1;
      resolve();
    });
    socket.on('error', (error) => { failure ??= error.message; });
    send();
  });
}

function percentile(sorted, p) {
  return sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function echo() {
  const sockets = await openAll(connections);
  if (sockets.length < connections) {
    print({ opened: sockets.length, messages: 0, errors: connections - sockets.length });
    sockets.forEach((socket) => socket.terminate());
    process.exit(2);
  }
  const message = 'x'.repeat(Number(bytesArg));
  const times = new Float64Array(4_000_000); // round trips kept for the percentiles: the first 4 million
  const counts = { messages: 0, errors: 0 };
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(Number(secondsArg) * 1e9));
  await Promise.all(sockets.map((socket) => roundTrips(socket, message, deadline, times, counts)));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const sorted = times.slice(0, Math.min(counts.messages, times.length)).sort();
  print({
    opened: sockets.length,
    messages: counts.messages,
    seconds: Number(seconds.toFixed(3)),
    rate: Math.round(counts.messages / seconds),
    p50_us: percentile(sorted, 0.5),
    p99_us: percentile(sorted, 0.99),
    errors: counts.errors,
  });
  sockets.forEach((socket) => socket.terminate());
  process.exit(0);
}

async function idle() {
  const sockets = await openAll(200);
  print({ opened: sockets.length, failed: connections - sockets.length });
  const end = () => {
    sockets.forEach((socket) => socket.terminate());
    process.exit(sockets.length < connections ? 2 : 0);
  };
  process.stdin.on('end', end);
  process.stdin.resume();
  process.on('SIGTERM', end);
}

if (mode === 'echo') {
  echo();
} else if (mode === 'idle') {
  idle();
} else {
  console.error('usage: load.js echo URLS CONNECTIONS SECONDS BYTES | load.js idle URLS CONNECTIONS');
  process.exit(64);
}
