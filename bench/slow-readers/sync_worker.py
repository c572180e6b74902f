#!/usr/bin/env python3
"""A single-threaded worker (one request at a time, a connection each, like gunicorn's sync worker): GET /big answers
30 MiB, anything else 'ok'. PROTOCOL=HTTP/1.1 in its environment makes it keep connections alive, serving one to its
end before it accepts the next (Python's http.server)."""
import os
from http.server import HTTPServer, BaseHTTPRequestHandler

BIG = b"x" * (30 << 20)


class Handler(BaseHTTPRequestHandler):
    protocol_version = os.environ.get("PROTOCOL", "HTTP/1.0")

    def do_GET(self):
        body = BIG if self.path.startswith("/big") else b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
