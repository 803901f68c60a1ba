#!/usr/bin/python3
"""A small, deliberately misbehaving primary for Meridian's secondary tests
(Tests/EndToEndTests/SecondaryTests.swift), on loopback only.

    fake_primary.py PORT MODE_FILE [KEYNAME SECRET]

Answers SOA over UDP and TCP, and AXFR/IXFR over TCP (always AXFR-style), for the zone
fake.example. Before each request it reads MODE_FILE: "MODE SERIAL", where MODE is
  good       a correct transfer at SERIAL (www A 192.0.2.<SERIAL % 250>)
  truncated  the transfer stops after its first message (no final SOA), connection closed
  malformed  the second message is one byte short: its last record runs past its end
  badmac     a signed stream whose middle message has one MAC byte flipped (needs a key)
The SOA answered over UDP carries SERIAL in every mode, so "good 3" after "good 10" is a serial
that goes backwards. Every answer is printed to stdout, one line each.
"""
import socket
import struct
import sys
import threading

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring

ORIGIN = dns.name.from_text("fake.example.")
port = int(sys.argv[1])
mode_file = sys.argv[2]
keyring = None
if len(sys.argv) > 4:
    keyring = dns.tsigkeyring.from_text({sys.argv[3]: ("hmac-sha256", sys.argv[4])})


def mode():
    with open(mode_file) as f:
        name, serial = f.read().split()
    return name, int(serial)


def soa(serial):
    return dns.rrset.from_text(ORIGIN, 300, "IN", "SOA",
                               "ns1.fake.example. hostmaster.fake.example. %d 3600 1 3600 60" % serial)


def records(serial):
    """The zone at SERIAL, SOA first; enough TXT records for several messages."""
    out = [soa(serial),
           dns.rrset.from_text(ORIGIN, 300, "IN", "NS", "ns1.fake.example."),
           dns.rrset.from_text("ns1.fake.example.", 300, "IN", "A", "192.0.2.1"),
           dns.rrset.from_text("www.fake.example.", 300, "IN", "A", "192.0.2.%d" % (serial % 250))]
    for i in range(400):
        out.append(dns.rrset.from_text("h%d.fake.example." % i, 300, "IN", "TXT",
                                       '"padding so that the transfer needs several messages %d"' % i))
    return out


def messages(query, serial):
    """The transfer as wire messages (100 RRsets each), signed when the query was."""
    rrsets = records(serial) + [soa(serial)]
    chunks = [rrsets[i:i + 100] for i in range(0, len(rrsets), 100)]
    wires = []
    ctx = None
    for k, chunk in enumerate(chunks):
        r = dns.message.make_response(query)
        r.flags |= dns.flags.AA
        if k > 0:
            r.question = []
        for rrset in chunk:
            r.answer.append(rrset)
        if query.had_tsig:
            wire = r.to_wire(multi=True, tsig_ctx=ctx)
            ctx = r.tsig_ctx
        else:
            wire = r.to_wire()
        wires.append(wire)
    return wires


def handle_tcp(conn):
    try:
        conn.settimeout(10)
        length = struct.unpack("!H", recv_exactly(conn, 2))[0]
        wire = recv_exactly(conn, length)
        query = dns.message.from_wire(wire, keyring=keyring)
        name, serial = mode()
        qtype = query.question[0].rdtype
        if qtype == dns.rdatatype.SOA:
            send(conn, soa_answer(query, serial))
            print("tcp soa %s %d" % (name, serial), flush=True)
            return
        wires = messages(query, serial)
        if name == "truncated":
            wires = wires[:1]
        elif name == "malformed":
            # One byte short: the last record's RDATA runs past the end of the message.
            wires[1] = wires[1][:-1]
        elif name == "badmac":
            middle = len(wires) // 2
            broken = bytearray(wires[middle])
            broken[-7] ^= 0x01  # the last byte of the MAC (before original ID, error, other length)
            wires[middle] = bytes(broken)
        for w in wires:
            send(conn, w)
        print("tcp %s %s %d messages=%d" % (dns.rdatatype.to_text(qtype), name, serial, len(wires)), flush=True)
    except Exception as e:  # a test tool: report and drop the connection
        print("tcp error %r" % (e,), flush=True)
    finally:
        conn.close()


def soa_answer(query, serial):
    r = dns.message.make_response(query)
    r.flags |= dns.flags.AA
    r.answer.append(soa(serial))
    return r.to_wire()


def recv_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError("closed")
        data += chunk
    return data


def send(conn, wire):
    conn.sendall(struct.pack("!H", len(wire)) + wire)


def udp_loop(sock):
    while True:
        wire, peer = sock.recvfrom(65535)
        try:
            query = dns.message.from_wire(wire, keyring=keyring)
            name, serial = mode()
            sock.sendto(soa_answer(query, serial), peer)
            print("udp soa %s %d" % (name, serial), flush=True)
        except Exception as e:
            print("udp error %r" % (e,), flush=True)


def main():
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", port))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("127.0.0.1", port))
    tcp.listen(16)
    threading.Thread(target=udp_loop, args=(udp,), daemon=True).start()
    print("ready", flush=True)
    while True:
        conn, _ = tcp.accept()
        threading.Thread(target=handle_tcp, args=(conn,), daemon=True).start()

if __name__ == "__main__":
    main()
