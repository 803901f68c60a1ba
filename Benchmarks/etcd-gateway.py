#!/usr/bin/env python3
"""How fast etcd 3.4's JSON gateway answers on loopback: the calls the fleet makes (Sources/Etcd).

  Benchmarks/etcd-gateway.py [--rounds N] [--members M]

Starts its own etcd (Debian etcd-server 3.4) on free 127.0.0.1 ports with its data in a temp dir,
and over one kept-alive HTTP/1.1 connection, as AsyncHTTPClient's pool keeps one, times:
  put     POST /v3/kv/put of a 1 KiB value
  range   POST /v3/kv/range of one key, and of a whole fleet prefix (M member records and
          M verdict sets of 4 KiB: a fleet's full read at start or after a compaction)
  watch   put on one connection until the event arrives on a /v3/watch stream on another
Prints median, 90th and 99th percentile and maximum in milliseconds. A measurement, not a test:
nothing asserts on it (the figures are in docs/ARCHITECTURE.md, "Fleet (etcd)").
"""
import argparse
import base64
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def b64(text):
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_etcd(tmp):
    client, peer = free_port(), free_port()
    url, peer_url = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
    log = open(os.path.join(tmp, "etcd.log"), "w")
    proc = subprocess.Popen(
        ["etcd", "--name", "default", "--data-dir", os.path.join(tmp, "data"),
         "--listen-client-urls", url, "--advertise-client-urls", url,
         "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
         "--initial-cluster", f"default={peer_url}"],
        stdout=log, stderr=log)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", client, timeout=2)
            c.request("POST", "/v3/kv/range", body=json.dumps({"key": b64("/")}))
            if c.getresponse().status == 200:
                return proc, client
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    sys.exit("etcd did not start; see " + log.name)


def post(conn, path, body):
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        sys.exit(f"{path}: HTTP {response.status}: {data[:200]!r}")
    return json.loads(data)


def timed(rounds, call):
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def report(name, samples):
    s = sorted(samples)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))]
    print(f"{name:<28} n={len(s):<5} median {pick(0.5):6.3f}  p90 {pick(0.9):6.3f}  p99 {pick(0.99):6.3f}  max {s[-1]:7.3f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--members", type=int, default=20)
    args = parser.parse_args()
    if not shutil.which("etcd"):
        sys.exit("etcd not found: apt-get install etcd-server")
    tmp = tempfile.mkdtemp(prefix="meridian-etcd-bench-")
    proc, port = start_etcd(tmp)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        value = b64("x" * 1024)
        report("put 1 KiB", timed(args.rounds, lambda: post(conn, "/v3/kv/put", {"key": b64("/bench/put"), "value": value})))
        report("range one key", timed(args.rounds, lambda: post(conn, "/v3/kv/range", {"key": b64("/bench/put")})))
        verdicts = b64("v" * 4096)
        for i in range(args.members):
            post(conn, "/v3/kv/put", {"key": b64(f"/fleet/members/i{i}"), "value": b64("m" * 512)})
            post(conn, "/v3/kv/put", {"key": b64(f"/fleet/verdicts/i{i}"), "value": verdicts})
        fleet = {"key": b64("/fleet/"), "range_end": b64("/fleet0")}
        got = post(conn, "/v3/kv/range", fleet)
        assert int(got["count"]) == 2 * args.members, got.get("count")
        report(f"range fleet ({2 * args.members} keys)", timed(max(1, args.rounds // 4), lambda: post(conn, "/v3/kv/range", fleet)))

        # The watch: a raw socket reading the gateway's newline-delimited stream.
        watcher = socket.create_connection(("127.0.0.1", port))
        body = json.dumps({"create_request": {"key": b64("/w/"), "range_end": b64("/w0")}}).encode()
        watcher.sendall(b"POST /v3/watch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        stream = watcher.makefile("rb")

        def next_object():
            # Chunked transfer: a size line, then data; the objects are JSON lines inside.
            while True:
                line = stream.readline()
                if not line:
                    sys.exit("watch stream ended")
                line = line.strip()
                if line.startswith(b"{"):
                    return json.loads(line)

        while True:  # skip the response head
            if stream.readline() in (b"\r\n", b""):
                break
        created = next_object()
        assert created["result"].get("created"), created
        samples = []
        for i in range(args.rounds):
            t0 = time.perf_counter()
            post(conn, "/v3/kv/put", {"key": b64("/w/k"), "value": b64(str(i))})
            event = next_object()
            samples.append((time.perf_counter() - t0) * 1000)
            assert base64.b64decode(event["result"]["events"][0]["kv"]["value"]).decode() == str(i), event
        report("put → watch event", samples)
        watcher.close()
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
