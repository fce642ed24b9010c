"""A TCP proxy on loopback that a fault test can cut and restore: the broker "goes away" for the service's
processes (connections reset, new ones refused) while the server behind it, shared by the machine (its
RabbitMQ), keeps running for everyone else.

Threads and blocking sockets, one pair of pumps per connection: a harness for a handful of broker
connections, not a production proxy.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

from tests.support.infra import free_port


class TcpProxy:
    """127.0.0.1:<port> forwarding to `target`; cut() resets every connection and refuses new ones until
    restore(), which listens again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self.connections = 0  # accepted so far
        self.cuts = 0
        self.reset_by_cut = 0  # connections the cuts closed

    @property
    def is_up(self) -> bool:
        return self._listener is not None

    def start(self) -> TcpProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name=f"proxy-{self.port}", daemon=True).start()
        return self

    restore = start

    def cut(self) -> int:
        """Stop listening and close every open connection both ways (shutdown wakes the pumps, SO_LINGER 0
        makes the close a reset); the number of connections cut."""
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._open = self._open, set()
        if listener is not None:
            # shutdown first: a bare close() leaves the socket listening while a thread blocks in accept()
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self.cuts += 1
        self.reset_by_cut += len(conns) // 2
        return len(conns) // 2

    def close(self) -> None:
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # closed by cut()
                return
            try:
                upstream = socket.create_connection(self.target, timeout=3)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    client.close()
                    upstream.close()
                    return
                self._open |= {client, upstream}
                self.connections += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(src)
                self._open.discard(dst)
            for sock in (src, dst):  # shutdown wakes the other pump (a bare close() would not)
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
