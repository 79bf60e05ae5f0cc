#!/usr/bin/env python3
"""Ask geoipmq where IP addresses are, with a time-out and retries (Lazy Pirate).

    python3 examples/geoip_client.py [--endpoint tcp://127.0.0.1:5555] IP...
    python3 examples/geoip_client.py [--endpoint ...] --request 'ping'

An IPv6 endpoint is written in brackets, e.g. tcp://[::1]:5555: a ZeroMQ socket reaches
IPv6 addresses only with the zmq.IPV6 option set, which ask() does.

Needs pyzmq (Debian: python3-zmq). Prints one line per address: the eight tab-separated
fields of the `geoip` reply, NOT_FOUND, or ERROR. With --request, sends that request
as it is and prints the reply (any verb of docs/PROTOCOL.md). Exits 1 when the service
does not answer in time.
"""

import argparse
import sys

import zmq


def ask(context, endpoint, request, timeout_ms, attempts):
    """Send one request; on a time-out drop the socket, open a new one, resend."""
    for _ in range(attempts):
        socket = context.socket(zmq.REQ)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.IPV6, 1)  # lets it connect to tcp://[::1]:5555 too
        socket.connect(endpoint)
        try:
            socket.send_string(request)
            if socket.poll(timeout_ms, zmq.POLLIN):
                return socket.recv_string()
        finally:
            socket.close()
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5555")
    parser.add_argument("--timeout-ms", type=int, default=1000)
    parser.add_argument("--attempts", type=int, default=3)
    parser.add_argument("--request", help="send this request as it is and print the reply")
    parser.add_argument("ips", nargs="*")
    args = parser.parse_args()
    if (args.request is None) == (not args.ips):
        parser.error("give IP addresses or --request, one of the two")
    request = args.request if args.request is not None else "geoip " + " ".join(args.ips)
    context = zmq.Context()
    reply = ask(context, args.endpoint, request, args.timeout_ms, args.attempts)
    context.term()
    if reply is None:
        print(f"geoip_client: no reply from {args.endpoint}", file=sys.stderr)
        return 1
    if args.request is not None:
        print(reply)
        return 0
    for ip, line in zip(args.ips, reply.split("\n")):
        print(f"{ip}\t{line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
