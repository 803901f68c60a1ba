#!/usr/bin/env python3
"""Connect-query-close load over TCP, reported the way dnsperf reports.

  tcp-connect.py -s 127.0.0.1 -p 5353 -d queries.txt -l 10 -c 20 [-t 1]

Each of -c slots opens a connection, sends one query of the file (dnsperf's
"name TYPE" lines, in order, wrapping), reads the answer, closes the connection
and starts over: the load of resolvers that fall back to TCP after a TC=1
answer, one query per connection. dnsperf's own -O num-queries-per-conn=1 is
no use for this: version 2.10 paces its reconnections by a 100 ms poll (about
100 queries per second whatever the server) and binds each socket before
connecting, which runs out of ports to TIME_WAIT.

The client closes first, so TIME_WAIT is on its side; connect() without bind()
reuses such ports on loopback (net.ipv4.tcp_tw_reuse, 2 by default). The summary
lines are dnsperf's ("Queries sent/completed/lost", "Response codes", "Queries
per second", "Average Latency"), so run.py reads them with the same parser. A
query unanswered after -t seconds is lost. Every packet goes to the -s address,
which run.py gives as 127.0.0.1.
"""

import argparse
import errno
import selectors
import socket
import struct
import time

# The query types gen-queries.py writes, and a few more.
TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
         "SRV": 33, "NAPTR": 35, "DS": 43, "DNSKEY": 48, "CAA": 257}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def question(line):
    """The question section of one 'name TYPE' line, or None for a line that is not one."""
    parts = line.split()
    if len(parts) < 2 or parts[1].upper() not in TYPES:
        return None
    labels = [label.encode() for label in parts[0].rstrip(".").split(".") if label]
    if any(len(label) > 63 for label in labels):
        return None
    name = b"".join(bytes([len(label)]) + label for label in labels) + b"\0"
    return name + struct.pack(">HH", TYPES[parts[1].upper()], 1)


class Slot:
    """One connection at a time: connecting, then waiting for its answer."""
    __slots__ = ("sock", "started", "message", "received")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-s", dest="server", default="127.0.0.1")
    ap.add_argument("-p", dest="port", type=int, default=53)
    ap.add_argument("-d", dest="datafile", required=True)
    ap.add_argument("-l", dest="limit", type=float, default=10.0, help="seconds of load")
    ap.add_argument("-c", dest="clients", type=int, default=20, help="connections open at once")
    ap.add_argument("-t", dest="timeout", type=float, default=1.0, help="seconds before a query counts as lost")
    args = ap.parse_args()

    with open(args.datafile) as f:
        questions = [q for q in (question(line) for line in f) if q]
    if not questions:
        raise SystemExit("tcp-connect: no queries in %s" % args.datafile)

    family = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    selector = selectors.DefaultSelector()
    sent = completed = lost = next_query = 0
    request_bytes = response_bytes = 0
    latency_sum, latency_sq, latency_min, latency_max = 0.0, 0.0, float("inf"), 0.0
    rcodes = {}

    def start(slot):
        nonlocal sent, next_query, request_bytes
        q = questions[next_query % len(questions)]
        qid = next_query & 0xFFFF
        next_query += 1
        body = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + q
        slot.message = struct.pack(">H", len(body)) + body
        slot.received = b""
        slot.sock = socket.socket(family, socket.SOCK_STREAM)
        slot.sock.setblocking(False)
        slot.started = time.monotonic()
        code = slot.sock.connect_ex((args.server, args.port))
        if code not in (0, errno.EINPROGRESS):
            raise SystemExit("tcp-connect: connect: %s" % errno.errorcode.get(code, code))
        selector.register(slot.sock, selectors.EVENT_WRITE, slot)
        sent += 1
        request_bytes += len(body)

    def finish(slot):
        selector.unregister(slot.sock)
        slot.sock.close()
        slot.sock = None

    slots = [Slot() for _ in range(args.clients)]
    began = time.monotonic()
    deadline = began + args.limit
    for slot in slots:
        start(slot)
    open_slots = len(slots)
    while open_slots:
        now = time.monotonic()
        for key, events in selector.select(timeout=0.05):
            slot = key.data
            if events & selectors.EVENT_WRITE:
                if slot.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    raise SystemExit("tcp-connect: the server refused or reset a connection")
                slot.sock.send(slot.message)  # at most 2 + 512 bytes: the empty send buffer takes it
                selector.modify(slot.sock, selectors.EVENT_READ, slot)
                continue
            try:
                data = slot.sock.recv(65537)
            except ConnectionError:
                data = b""
            slot.received += data
            have = len(slot.received)
            whole = have >= 2 and have >= 2 + struct.unpack(">H", slot.received[:2])[0]
            if not whole and data:
                continue
            done = time.monotonic()
            finish(slot)
            if whole and have >= 6:
                completed += 1
                response_bytes += have - 2
                rcode = RCODES.get(slot.received[5] & 0x0F, str(slot.received[5] & 0x0F))
                rcodes[rcode] = rcodes.get(rcode, 0) + 1
                latency = done - slot.started
                latency_sum += latency
                latency_sq += latency * latency
                latency_min = min(latency_min, latency)
                latency_max = max(latency_max, latency)
            else:
                lost += 1  # closed before a whole answer came
            if done < deadline:
                start(slot)
            else:
                open_slots -= 1
        for slot in slots:
            if slot.sock is not None and now - slot.started > args.timeout:
                finish(slot)
                lost += 1
                if now < deadline:
                    start(slot)
                else:
                    open_slots -= 1
    run_time = time.monotonic() - began
    n = max(1, completed)
    mean = latency_sum / n
    sd = max(0.0, latency_sq / n - mean * mean) ** 0.5
    total = max(1, sum(rcodes.values()))
    print("Statistics:\n")
    print("  Queries sent:         %d" % sent)
    print("  Queries completed:    %d (%.2f%%)" % (completed, 100.0 * completed / max(1, sent)))
    print("  Queries lost:         %d (%.2f%%)" % (lost, 100.0 * lost / max(1, sent)))
    print("  Response codes:       %s" % ", ".join("%s %d (%.2f%%)" % (code, k, 100.0 * k / total)
                                                   for code, k in sorted(rcodes.items())))
    print("  Average packet size:  request %d, response %d" % (request_bytes // max(1, sent), response_bytes // n))
    print("  Run time (s):         %.6f" % run_time)
    print("  Queries per second:   %.6f" % (completed / run_time))
    print("  Average Latency (s):  %.6f (min %.6f, max %.6f)" % (mean, latency_min if completed else 0.0, latency_max))
    print("  Latency StdDev (s):   %.6f" % sd)


if __name__ == "__main__":
    main()
