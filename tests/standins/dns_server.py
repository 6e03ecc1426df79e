#!/usr/bin/env python3
"""A tiny authoritative DNS server for tests (dnslib), over UDP and TCP on one address.

    dns_server.py --address 127.0.0.1 --port 53 --zone ZONE.json

ZONE.json maps names to records: {"web.runas.test": {"TXT": [["i-0123..."]], "A": ["10.0.0.5"]}}.
A TXT record is a list of character-strings. A name in the zone without the asked type gets an
empty answer (NODATA); a name not in the zone gets NXDOMAIN. Prints "ready" once both sockets
listen; logs each question as a JSON line to --log."""

import argparse
import json
import threading
import time

from dnslib import QTYPE, RCODE, RR, A, TXT
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class Zone(BaseResolver):
    def __init__(self, zone, log):
        self.zone = {name.rstrip(".").lower(): records for name, records in zone.items()}
        self.log = log
        self.lock = threading.Lock()

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        if self.log:
            with self.lock, open(self.log, "a") as f:
                f.write(json.dumps({"name": name, "type": qtype}) + "\n")
        records = self.zone.get(name)
        if records is None:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for value in records.get(qtype, []):
            if qtype == "TXT":
                rdata = TXT([s.encode() for s in value])
            elif qtype == "A":
                rdata = A(value)
            else:
                continue
            reply.add_answer(RR(request.q.qname, getattr(QTYPE, qtype), rdata=rdata, ttl=5))
        return reply


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--port", type=int, default=53)
    p.add_argument("--zone", required=True)
    p.add_argument("--log")
    args = p.parse_args()
    with open(args.zone) as f:
        resolver = Zone(json.load(f), args.log)
    quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
    servers = [DNSServer(resolver, address=args.address, port=args.port, tcp=tcp, logger=quiet)
               for tcp in (False, True)]
    for server in servers:
        server.start_thread()
    print("ready", flush=True)
    while all(s.isAlive() for s in servers):
        time.sleep(0.5)


if __name__ == "__main__":
    main()
