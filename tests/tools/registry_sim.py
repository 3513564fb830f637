#!/usr/bin/env python3
"""registry_sim.py -- a small Confluent-compatible Schema Registry for tests.

Serves the endpoints payworker's client uses, with Confluent's semantics:
  POST /subjects/{subject}/versions  {"schema": "..."} -> {"id": N}
       (the same schema, in any subject, keeps its id; ids start at 100 so a
       test can tell them from payworker's local ids 1-3)
  GET  /schemas/ids/{id}             -> {"schema": "..."} or 404 error 40403
  GET  /subjects                     -> ["subject", ...]
Listens on 127.0.0.1:PORT (argv[1]); prints "listening PORT" when ready;
exits on SIGTERM.
"""
import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

schemas = {}   # id -> schema text
by_canon = {}  # canonical text -> id
subjects = {}  # subject -> [id, ...]


def canonical(text):
    return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "subjects" or parts[2] != "versions":
            return self.reply(404, {"error_code": 404, "message": "HTTP 404 Not Found"})
        try:
            length = int(self.headers.get("Content-Length", "0"))
            text = json.loads(self.rfile.read(length))["schema"]
            canon = canonical(text)
        except (ValueError, KeyError, TypeError):
            return self.reply(422, {"error_code": 42201, "message": "Invalid schema"})
        sid = by_canon.get(canon)
        if sid is None:
            sid = 100 + len(schemas)
            schemas[sid] = text
            by_canon[canon] = sid
        versions = subjects.setdefault(unquote(parts[1]), [])
        if sid not in versions:
            versions.append(sid)
        self.reply(200, {"id": sid})

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if parts == ["subjects"]:
            return self.reply(200, sorted(subjects))
        if len(parts) == 3 and parts[:2] == ["schemas", "ids"] and parts[2].isdigit():
            sid = int(parts[2])
            if sid in schemas:
                return self.reply(200, {"schema": schemas[sid]})
            return self.reply(404, {"error_code": 40403, "message": "Schema not found"})
        self.reply(404, {"error_code": 404, "message": "HTTP 404 Not Found"})

    def log_message(self, fmt, *args):
        sys.stderr.write("registry_sim: " + (fmt % args) + "\n")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("listening", server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except SystemExit:
        pass
    server.server_close()


if __name__ == "__main__":
    main()
