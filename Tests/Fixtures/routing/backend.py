#!/usr/bin/python3
"""A health-check backend of the routing end-to-end tests, on 127.0.0.1 (or HOST: a test's own
network namespace address).

    backend.py http PORT [HOST]   GET /healthz -> 200 "ok"; anything else 404
    backend.py tcp PORT [HOST]    accepts connections and closes them
"""
import http.server
import socket
import sys


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/healthz"
        body = b"ok\n" if ok else b"not found\n"
        self.send_response(200 if ok else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    kind, port = sys.argv[1], int(sys.argv[2])
    host = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
    if kind == "http":
        http.server.ThreadingHTTPServer.allow_reuse_address = True
        http.server.ThreadingHTTPServer((host, port), Health).serve_forever()
    elif kind == "tcp":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(64)
        while True:
            c, _ = s.accept()
            c.close()
    else:
        sys.exit(f"unknown kind {kind}")


if __name__ == "__main__":
    main()
