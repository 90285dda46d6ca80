#!/usr/bin/python3
"""A deterministic HTTP/1.1 client for bench/count.sh: the same bytes in the
same order every run, one request in flight, so that a server's instruction
and system call counts per request can be taken by differencing two runs.

usage: count_client.py PORT PATH keepalive|close N

  keepalive  one connection, N requests one after the other; each response is
             read whole (Content-Length) before the next request is sent
  close      N connections, one request each with "Connection: close"; the
             response is read to the end of the stream (the server closes)

Loopback only. Exits 1 (saying why) unless all N responses are 200."""
import socket
import sys


def read_response(sock, buf):
    """Read one response from sock; returns (status, rest of buf)."""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise EOFError("connection closed before a full response head")
        buf += data
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None:
        raise ValueError("response without Content-Length: %r" % lines[0])
    while len(buf) < length:
        data = sock.recv(65536)
        if not data:
            raise EOFError("connection closed inside a response body")
        buf += data
    return status, buf[length:]


def main():
    if len(sys.argv) != 5 or sys.argv[3] not in ("keepalive", "close"):
        sys.exit(__doc__)
    port, path, mode, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    host = b"Host: 127.0.0.1:%d\r\n" % port
    bad = 0
    if mode == "keepalive":
        req = b"GET " + path.encode() + b" HTTP/1.1\r\n" + host + b"\r\n"
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            buf = b""
            for _ in range(n):
                s.sendall(req)
                status, buf = read_response(s, buf)
                bad += status != 200
    else:
        req = b"GET " + path.encode() + b" HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n"
        for _ in range(n):
            with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.sendall(req)
                status, buf = read_response(s, b"")
                while True:  # to the end: the server's close is part of the cost
                    data = s.recv(65536)
                    if not data:
                        break
                    buf += data
                if buf:
                    raise ValueError("bytes after the response: %r" % buf[:80])
                bad += status != 200
    if bad:
        sys.exit("count_client: %d of %d responses were not 200" % (bad, n))


if __name__ == "__main__":
    main()
