#!/usr/bin/env python3
"""k8s-apiserver-nodelay.py - tests/k8s/apiserver.py with TCP_NODELAY on
every accepted connection, as kube-apiserver has (Go's net package sets it
on every TCP connection).

    python3 bench/k8s-apiserver-nodelay.py [apiserver.py's options]

The double's handlers write the status line and headers, then the body,
in two writes.  Without TCP_NODELAY, Nagle's algorithm holds a short body
back until the client acknowledges the headers, and the client delays that
acknowledgement (40 ms on Linux): every small answer, such as a status
PATCH, takes about 44 ms instead of 1-2 ms.  That is the double's cost,
not the client's, and not what a real API server does, so the benchmark
runs the double through this wrapper (K8S_BENCH_NODELAY=0 in k8s-run.sh
runs it as it is).  Nothing else of the double changes: this file loads
tests/k8s/apiserver.py as a module and only wraps
socketserver.TCPServer.get_request.
"""

import importlib.util
import os
import socket
import socketserver
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
APISERVER = os.path.join(HERE, "..", "tests", "k8s", "apiserver.py")


def _nodelay_get_request(orig):
    def get_request(self):
        sock, addr = orig(self)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        return sock, addr
    return get_request


def main():
    socketserver.TCPServer.get_request = _nodelay_get_request(
        socketserver.TCPServer.get_request)
    spec = importlib.util.spec_from_file_location("apiserver", APISERVER)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["apiserver"] = mod
    spec.loader.exec_module(mod)
    return mod.serve(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
