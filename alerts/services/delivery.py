"""Webhooks: registration (the URL checked, a Standard Webhooks secret) and delivery (claim, signed POST, record
with backoff, deactivation after a day of failures). Services take `now` so that tests control time."""

import base64
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from standardwebhooks import Webhook as StandardWebhook

from alerts import rules
from alerts.dispatch import deliveries_enqueue_on_commit
from alerts.models import DeliveryAttempt, DeliveryStatus, Webhook, WebhookDelivery
from alerts.services._shared import DELIVERY_TABLE, WEBHOOK_TABLE
from alerts.urlguard import UrlNotAllowed, webhook_url_check
from common.exceptions import InvalidError, NotFoundError
from common.metrics import WEBHOOK_DELIVERIES

logger = logging.getLogger(__name__)

DELIVERY_TIMEOUT_S = 5.0  # the contract: no 2xx within 5 s is a failed attempt
# An attempt in flight holds its delivery this long (longer than the timeout): a worker that dies mid-attempt
# leaves the delivery due again afterwards, for the periodic task.
DELIVERY_LEASE = timedelta(seconds=60)
DUE_BATCH = 200


def _allow_http() -> bool:
    return bool(settings.DEBUG or settings.WEBHOOK_ALLOW_PRIVATE)


def webhook_secret_new() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_create(*, fleet_id: int, url: str, events: list[str]) -> Webhook:
    """Register a webhook for the fleet; its `secret` is readable on the returned object (show it once).

    The URL must be https (http too under DEBUG or WEBHOOK_ALLOW_PRIVATE) and resolve to public addresses only
    (unless WEBHOOK_ALLOW_PRIVATE): else InvalidError naming `url`."""
    try:
        webhook_url_check(url, allow_http=_allow_http(), allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    except UrlNotAllowed as exc:
        raise InvalidError({"url": [str(exc)]}) from None
    return Webhook.objects.create(
        fleet_id=fleet_id, url=url, events=list(dict.fromkeys(events)), secret=webhook_secret_new()
    )


def webhook_delete(*, fleet_id: int, webhook_id: uuid.UUID) -> None:
    """Delete the fleet's webhook and its deliveries; another fleet's or unknown: NotFoundError (404)."""
    deleted, _ = Webhook.objects.filter(pk=webhook_id, fleet_id=fleet_id).delete()
    if not deleted:
        raise NotFoundError("No such webhook.")


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return not self.error and self.status_code is not None and 200 <= self.status_code < 300


def webhook_send(
    *, url: str, secret: str, message_id: str, body: str, client: httpx.Client | None = None
) -> SendResult:
    """POST `body` to `url`, signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature),
    with a 5 s timeout and no redirects; the URL is checked again first (DNS may have changed)."""
    started = time.monotonic()
    try:
        webhook_url_check(url, allow_http=_allow_http(), allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    except UrlNotAllowed as exc:
        return SendResult(None, f"not sent: {exc}", 0)
    sent_at = datetime.now(UTC)  # the receiver checks this against its clock: the real one
    headers = {
        "content-type": "application/json",
        "user-agent": "battery-health-webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": StandardWebhook(secret).sign(message_id, sent_at, body),
    }
    own_client = client is None
    http = client or httpx.Client(timeout=DELIVERY_TIMEOUT_S, follow_redirects=False, trust_env=False)
    try:
        # The status line is all we need: the receiver's body is never read (a huge one costs nothing).
        with http.stream("POST", url, content=body.encode(), headers=headers) as response:
            code = response.status_code
        elapsed = time.monotonic() - started
        if elapsed > DELIVERY_TIMEOUT_S:  # httpx's timeout is per read: a drip-fed answer can take longer
            return SendResult(
                code, f"answered after {elapsed:.1f} s, over {DELIVERY_TIMEOUT_S:g} s", int(elapsed * 1000)
            )
        error = "" if 200 <= code < 300 else f"HTTP {code}"
        return SendResult(code, error, int(elapsed * 1000))
    except httpx.HTTPError as exc:
        return SendResult(None, f"{type(exc).__name__}: {exc}"[:2000], int((time.monotonic() - started) * 1000))
    finally:
        if own_client:
            http.close()


_SENDABLE = (
    f"d.status = %s AND w.active AND d.next_attempt_at <= %s AND NOT EXISTS (SELECT 1 FROM {DELIVERY_TABLE} AS p "
    "WHERE p.webhook_id = d.webhook_id AND p.alert_id = d.alert_id AND p.sequence < d.sequence AND p.status = %s)"
)


def webhook_deliveries_due(*, now: datetime | None = None, limit: int = DUE_BATCH) -> list[uuid.UUID]:
    """Deliveries that may be attempted now: pending, due, of an active webhook, and first of their alert for
    that webhook (an earlier sequence still pending holds the later ones back)."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT d.id FROM {DELIVERY_TABLE} AS d JOIN {WEBHOOK_TABLE} AS w ON w.id = d.webhook_id "
            f"WHERE {_SENDABLE} ORDER BY d.next_attempt_at, d.sequence LIMIT %s",
            [DeliveryStatus.PENDING, now, DeliveryStatus.PENDING, limit],
        )
        return [row[0] for row in cursor.fetchall()]


def webhook_delivery_attempt(
    *, delivery_id: uuid.UUID, now: datetime | None = None, client: httpx.Client | None = None
) -> str | None:
    """Attempt one delivery if it may go now; its status afterwards, or None when it was not attempted (not
    due, held back by an earlier sequence, taken by another worker, delivered or given up already).

    1. claim (committed): count the attempt and hold the delivery for DELIVERY_LEASE;
    2. send, outside any transaction (up to 5 s);
    3. record (one transaction): the attempt in the delivery log; 2xx: delivered; else the next attempt after
       the backoff of alerts.rules.delivery_retry_delay, or failed when the attempts are spent. A webhook
       that has failed for 24 h without a success (WEBHOOK_DISABLE_AFTER) is set inactive and its pending
       deliveries failed. A delivered or failed delivery lets the alert's next one go (published after commit).
    """
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT d.id FROM {DELIVERY_TABLE} AS d JOIN {WEBHOOK_TABLE} AS w ON w.id = d.webhook_id "
            f"WHERE d.id = %s AND {_SENDABLE} FOR UPDATE OF d SKIP LOCKED",
            [str(delivery_id), DeliveryStatus.PENDING, now, DeliveryStatus.PENDING],
        )
        if cursor.fetchone() is None:
            return None
        cursor.execute(
            f"UPDATE {DELIVERY_TABLE} AS d SET attempts = d.attempts + 1, next_attempt_at = %s FROM {WEBHOOK_TABLE} "
            "AS w WHERE d.id = %s AND w.id = d.webhook_id RETURNING d.attempts, d.body, w.url, w.secret",
            [now + DELIVERY_LEASE, str(delivery_id)],
        )
        attempts, body, url, secret = cursor.fetchone()
    result = webhook_send(url=url, secret=secret, message_id=f"msg_{delivery_id}", body=body, client=client)
    return _attempt_record(delivery_id=delivery_id, attempts=attempts, result=result, now=now)


def _attempt_record(*, delivery_id: uuid.UUID, attempts: int, result: SendResult, now: datetime) -> str | None:
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None:  # the webhook was deleted meanwhile, its deliveries with it
            return None
        webhook = Webhook.objects.select_for_update(no_key=True).get(pk=delivery.webhook_id)
        DeliveryAttempt.objects.create(
            delivery=delivery,
            attempted_at=now,
            status_code=result.status_code,
            error=result.error,
            duration_ms=result.duration_ms,
        )
        delivery.last_status_code = result.status_code
        delivery.last_error = result.error
        if result.ok:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.DELIVERED, now, None
            if webhook.failing_since is not None:
                webhook.failing_since = None
                webhook.save(update_fields=["failing_since"])
        else:
            delay = rules.delivery_retry_delay(attempts)
            if delay is None:
                delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
            else:
                delivery.next_attempt_at = now + delay
            if webhook.failing_since is None:
                webhook.failing_since = now
                webhook.save(update_fields=["failing_since"])
            elif webhook.active and now - webhook.failing_since >= rules.WEBHOOK_DISABLE_AFTER:
                webhook.active, webhook.deactivated_at = False, now
                webhook.save(update_fields=["active", "deactivated_at"])
                delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
                WebhookDelivery.objects.filter(webhook=webhook, status=DeliveryStatus.PENDING).exclude(
                    pk=delivery.pk
                ).update(status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="webhook deactivated")
                logger.warning("webhook %s deactivated after failing since %s", webhook.pk, webhook.failing_since)
        delivery.save()
        if delivery.status != DeliveryStatus.PENDING:
            following = (
                WebhookDelivery.objects.filter(
                    webhook_id=delivery.webhook_id, alert_id=delivery.alert_id, status=DeliveryStatus.PENDING
                )
                .order_by("sequence")
                .values_list("id", flat=True)[:1]
            )
            deliveries_enqueue_on_commit(list(following))
    logger.info(
        "webhook delivery %s attempt %d: %s", delivery_id, attempts, result.status_code or result.error or "sent"
    )
    # delivered | retrying | failed (given up, or the webhook was deactivated)
    outcome = "retrying" if delivery.status == DeliveryStatus.PENDING else str(delivery.status)
    WEBHOOK_DELIVERIES.labels(result=outcome).inc()
    return str(delivery.status)
