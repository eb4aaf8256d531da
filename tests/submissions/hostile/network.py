"""Tries to reach a TCP server on the host's loopback."""
import socket


def attack(port):
    try:
        with socket.create_connection(("127.0.0.1", int(port)), timeout=1.0) as sock:
            sock.sendall(b"exfiltrated")
        return {"connected": 1.0}
    except OSError as exc:
        return {"connected": 0.0, "errno": float(exc.errno or -1)}
