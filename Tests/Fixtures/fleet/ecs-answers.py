#!/usr/bin/python3
"""Asks a server on 127.0.0.1 for NAME with COUNT client subnets (EDNS Client Subnet), one query
each over UDP, and prints one line per query: the subnet, the rcode, the ECS scope, and the
answer's TTLs and addresses sorted. The subnets come from a seeded generator, so every run with
the same SEED asks the same ones (IPv4 /24s across the unicast space and IPv6 /48s in the RIRs'
blocks), and two servers' outputs compare line by line.

    ecs-answers.py PORT NAME COUNT SEED
"""
import ipaddress
import random
import sys

import dns.edns
import dns.message
import dns.query
import dns.rcode


def subnets(count, seed):
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        if rng.random() < 0.9:
            first = rng.randint(1, 223)
            if first in (10, 100, 127, 169, 172, 192):
                continue
            net = ipaddress.ip_network(f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.0/24")
        else:
            block = rng.choice([0x2001, 0x2400, 0x2600, 0x2800, 0x2a00, 0x2c00])
            net = ipaddress.ip_network(f"{block:x}:{rng.randint(0, 0xffff):x}:{rng.randint(0, 0xffff):x}::/48")
        out.append(net)
    return out


def main():
    port, name, count, seed = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    for net in subnets(count, seed):
        ecs = dns.edns.ECSOption(str(net.network_address), net.prefixlen)
        query = dns.message.make_query(name, "A", use_edns=0, options=[ecs])
        try:
            r = dns.query.udp(query, "127.0.0.1", port=port, timeout=2)
        except Exception as e:  # a lost answer is an answer too: it must be lost everywhere
            print(f"{net} error {type(e).__name__}")
            continue
        scope = next((o.scopelen for o in r.options if isinstance(o, dns.edns.ECSOption)), "-")
        records = sorted(f"{rrset.ttl}/{rd}" for rrset in r.answer for rd in rrset)
        print(f"{net} {dns.rcode.to_text(r.rcode())} scope={scope} {' '.join(records)}")


if __name__ == "__main__":
    main()
