"""The outbox: one delivery row per (alert event, subscribed active webhook), written in the transaction that
changed the alert and published after commit (alerts.dispatch)."""

import json
import uuid
from datetime import datetime
from typing import Any

from django.db import connection

from alerts.dispatch import deliveries_enqueue_on_commit
from alerts.models import DeliveryStatus
from alerts.services._shared import DELIVERY_TABLE, WEBHOOK_TABLE
from common.sql import unnest_rows
from common.timestamps import format_timestamp

# The events as the delivery INSERT's parallel arrays (common.sql.unnest_rows), in parameter order.
_EVENT_ARRAYS = (("alert_id", "uuid"), ("fleet_id", "bigint"), ("event", "text"), ("sequence", "int"), ("body", "text"))


def outbox_write(events: list[tuple[str, int, str, int, dict[str, Any]]], *, now: datetime) -> list[uuid.UUID]:
    """One delivery row per (event, active webhook of the alert's fleet subscribed to it), in one statement,
    published after commit. `events`: (alert id, fleet id, event, sequence, alert payload)."""
    if not events:
        return []
    bodies = [
        json.dumps(
            {"type": event, "timestamp": format_timestamp(now), "data": {"alert": payload, "sequence": sequence}},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for _, _, event, sequence, payload in events
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {DELIVERY_TABLE} (id, webhook_id, alert_id, event, sequence, body, status, attempts, "
            "last_error, next_attempt_at, created_at) "
            "SELECT gen_random_uuid(), w.id, e.alert_id, e.event, e.sequence, e.body, %s, 0, '', %s, now() "
            f"FROM {unnest_rows('e', _EVENT_ARRAYS, ordinality='n')} "
            f"JOIN {WEBHOOK_TABLE} AS w ON w.fleet_id = e.fleet_id AND w.active AND e.event = ANY(w.events) "
            "ORDER BY e.n, w.id ON CONFLICT DO NOTHING RETURNING id",
            [
                DeliveryStatus.PENDING,
                now,
                [alert_id for alert_id, *_ in events],
                [fleet_id for _, fleet_id, *_ in events],
                [event for _, _, event, *_ in events],
                [sequence for *_, sequence, _ in events],
                bodies,
            ],
        )
        ids = [row[0] for row in cursor.fetchall()]
    deliveries_enqueue_on_commit(ids)
    return ids
