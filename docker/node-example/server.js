// A worker program in Node.js for Shepherd: it listens on 127.0.0.1:$PORT,
// answers GET /health for the master's probes, and says which process
// handled each request. See docker/compose.yaml; docker/test.sh runs it.
const http = require("node:http");
const { spawn } = require("node:child_process");

// A helper process that may outlive this worker, like a job a
// real app may start. If the worker dies, the helper is orphaned and
// the container's init (tini) must reap it when it exits; test.sh checks that.
if (process.env.SHEPHERD_EXAMPLE_HELPER) { // seconds
  spawn("sleep", [process.env.SHEPHERD_EXAMPLE_HELPER], { detached: true, stdio: "ignore" }).unref();
}

const server = http.createServer((req, res) => {
  res.setHeader("content-type", "text/plain");
  res.end(req.url === "/health" ? "ok" : `Node worker pid: ${process.pid}`);
});
server.listen(Number(process.env.PORT), "127.0.0.1");

// Finish in-flight requests on the master's TERM, then exit.
process.on("SIGTERM", () => server.close(() => process.exit(0)));
