"""A webhook receiver on loopback, as a fleet would run one: every request's signature is verified with the
`standardwebhooks` library, and every arrival is recorded (in order) so that a test can count what arrived,
what arrived twice (by `webhook-id`) and in what order per alert (by `sequence`).

``WebhookReceiver()`` listens at once on a free port (``url``); ``secret`` must be set before the first
delivery arrives. ``answers`` (status codes, popped per request; then 204) and ``delay_s`` shape its replies.
``stop()`` closes the socket (a sender then gets "connection refused", as from a receiver that is down) and
``start()`` listens again on the same port. ``close()`` at the end.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook as StandardWebhook


@dataclass(frozen=True)
class Arrival:
    """One verified request: its `webhook-id`, the event, the alert's id and the event's `sequence`."""

    message_id: str
    type: str
    alert_id: str
    sequence: int
    payload: dict[str, Any]


class WebhookReceiver:
    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.answers: list[int] = []
        self.delay_s = 0.0
        self.arrivals: list[Arrival] = []
        self.rejected: list[str] = []
        self._lock = threading.Lock()
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    # ------------------------------------------------------------------ up and down
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                try:
                    payload = StandardWebhook(receiver.secret).verify(body, dict(self.headers))
                    arrival = Arrival(
                        message_id=self.headers["webhook-id"],
                        type=payload["type"],
                        alert_id=payload["data"]["alert"]["id"],
                        sequence=int(payload["data"]["sequence"]),
                        payload=payload,
                    )
                    with receiver._lock:
                        receiver.arrivals.append(arrival)
                except Exception as exc:  # a forged or malformed request is recorded, never accepted
                    with receiver._lock:
                        receiver.rejected.append(f"{type(exc).__name__}: {exc}; body {body[:200]!r}")
                with receiver._lock:
                    code = receiver.answers.pop(0) if receiver.answers else 204
                time.sleep(receiver.delay_s)
                self.send_response(code)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> None:
        """Listen (again, on the same port after a stop())."""
        assert self._server is None
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close the listening socket: from now on a sender's connection is refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def close(self) -> None:
        self.stop()

    # ------------------------------------------------------------------ what arrived
    @property
    def received(self) -> list[dict[str, Any]]:
        """Every verified body, in arrival order, with its `webhook-id` as "id"."""
        with self._lock:
            return [{"id": a.message_id, **a.payload} for a in self.arrivals]

    def message_ids(self) -> set[str]:
        with self._lock:
            return {a.message_id for a in self.arrivals}

    def duplicates(self) -> int:
        """Requests beyond the first of their `webhook-id` (a receiver drops them)."""
        with self._lock:
            return sum(count - 1 for count in Counter(a.message_id for a in self.arrivals).values())

    def out_of_order(self) -> list[str]:
        """Alerts whose first arrivals (duplicates dropped, as a receiver does) did not come in `sequence`
        order, one line each."""
        seen: set[str] = set()
        sequences: dict[str, list[int]] = defaultdict(list)
        with self._lock:
            for arrival in self.arrivals:
                if arrival.message_id not in seen:
                    seen.add(arrival.message_id)
                    sequences[arrival.alert_id].append(arrival.sequence)
        return [f"{alert}: {seqs}" for alert, seqs in sequences.items() if seqs != sorted(seqs)]

    def summary(self) -> dict[str, Any]:
        with self._lock:
            arrivals = len(self.arrivals)
            types = Counter(a.type for a in self.arrivals)
        return {
            "webhook_requests": arrivals,
            "webhook_unique_ids": len(self.message_ids()),
            "webhook_duplicates": self.duplicates(),
            "webhook_rejected_signatures": len(self.rejected),
            "webhook_events": dict(sorted(types.items())),
        }

    def dump(self) -> str:
        with self._lock:
            return json.dumps([(a.message_id, a.type, a.alert_id, a.sequence) for a in self.arrivals])
