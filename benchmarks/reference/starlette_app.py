"""The fast-stack reference: a minimal Starlette + msgspec + async psycopg (3) ingest endpoint.

    DATABASE_URL=postgres://... JWT_SIGNING_KEY=... \
        .venv/bin/python -m uvicorn benchmarks.reference.starlette_app:app --workers 2 --loop uvloop --http httptools

``POST /ingest``: the same work as the common case of ``POST /api/v1/diagnostics``, done the fast way:

- the bearer token checked with PyJWT (HS256, same key, expiry and ``token_type`` as simplejwt); the
  user's fleet read once per process and cached (the minimal stack keeps no per-request user query);
- the body decoded and validated by msgspec in one pass (types, ranges, 1-1024 cells, unknown fields
  rejected, RFC 3339 timestamp with an offset);
- one statement on a pooled connection (autocommit, prepared by psycopg after a few uses): the log
  inserted into ``diagnostics_diagnosticlog`` for a vehicle of the caller's fleet, ON CONFLICT DO NOTHING;
- ``202`` with the log id, ``400`` on a bad body, ``401`` on a bad token, ``409`` when nothing was inserted
  (a repeat, or a vehicle not of the fleet: the minimal stack has no idempotent-retry or first-sight path).

It publishes no report task: it is the HTTP + validation + database floor of a fast stack.
"""

import os
import re
import statistics
import uuid
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

import jwt
import msgspec
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class Cell(msgspec.Struct, forbid_unknown_fields=True):
    id: Annotated[int, msgspec.Meta(ge=0, lt=1024)]
    voltage: Annotated[float, msgspec.Meta(ge=0.0, le=5.0)]
    temperature: Annotated[float, msgspec.Meta(ge=-40.0, le=125.0)]


class Log(msgspec.Struct, forbid_unknown_fields=True):
    vehicle_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    timestamp: datetime
    cells: Annotated[list[Cell], msgspec.Meta(min_length=1, max_length=1024)]
    cycle_count: Annotated[int, msgspec.Meta(ge=0, le=100_000)]
    nominal_capacity_kwh: Annotated[float, msgspec.Meta(gt=0.0, le=1000.0)]
    current_capacity_kwh: Annotated[float, msgspec.Meta(ge=0.0, le=1200.0)]


VEHICLE_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
DECODER = msgspec.json.Decoder(Log)
ENCODER = msgspec.json.Encoder()
SIGNING_KEY = os.environ.get("JWT_SIGNING_KEY", "")
INSERT_SQL = (
    "WITH v AS (SELECT id FROM diagnostics_vehicle WHERE vehicle_id = %s AND fleet_id = %s), "
    "ins AS (INSERT INTO diagnostics_diagnosticlog (id, vehicle_id, timestamp, cells, cycle_count, "
    "nominal_capacity_kwh, current_capacity_kwh, cell_voltages, cell_temperatures, voltage_median, "
    "received_at, status, attempts, error, status_changed_at) "
    "SELECT %s, v.id, %s, %s::jsonb, %s, %s, %s, %s, %s, %s, now(), 'pending', 0, '', now() FROM v "
    "ON CONFLICT (vehicle_id, timestamp) DO NOTHING RETURNING 1) "
    "SELECT EXISTS (SELECT 1 FROM ins)"
)
_fleets: dict[int, int | None] = {}
pool = AsyncConnectionPool(
    os.environ.get("DATABASE_URL", "").replace("postgres://", "postgresql://", 1),
    min_size=2,
    max_size=int(os.environ.get("BENCH_POOL_SIZE", "8")),
    kwargs={"autocommit": True},
    open=False,
)


def _json(status: int, body: object) -> Response:
    return Response(ENCODER.encode(body), status_code=status, media_type="application/json")


async def _fleet_of(user_id: int) -> int | None:
    if user_id not in _fleets:
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT fleet_id FROM fleets_user WHERE id = %s AND is_active", [user_id])
            row = await cur.fetchone()
        _fleets[user_id] = row[0] if row else None
    return _fleets[user_id]


async def ingest(request: Request) -> Response:
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        return _json(401, {"code": "not_authenticated"})
    try:
        claims = jwt.decode(header[7:], SIGNING_KEY, algorithms=["HS256"])
        user_id = int(claims["user_id"])
    except (jwt.PyJWTError, KeyError, ValueError):
        return _json(401, {"code": "token_not_valid"})
    if claims.get("token_type") != "access":
        return _json(401, {"code": "token_not_valid"})
    fleet_id = await _fleet_of(user_id)
    if fleet_id is None:
        return _json(403, {"code": "permission_denied"})
    try:
        log = DECODER.decode(await request.body())
    except msgspec.ValidationError as exc:
        return _json(400, {"code": "invalid", "message": str(exc)})
    if log.timestamp.tzinfo is None or not VEHICLE_ID_RE.fullmatch(log.vehicle_id):
        return _json(400, {"code": "invalid"})
    log_id = uuid.uuid4()
    async with pool.connection() as conn:
        cur = await conn.execute(
            INSERT_SQL,
            [
                log.vehicle_id,
                fleet_id,
                log_id,
                log.timestamp,
                ENCODER.encode(log.cells).decode(),
                log.cycle_count,
                log.nominal_capacity_kwh,
                log.current_capacity_kwh,
                # the cell history's columns, as the service stores them beside the JSONB
                voltages := [cell.voltage for cell in log.cells],
                [cell.temperature for cell in log.cells],
                statistics.median(voltages),
            ],
        )
        row = await cur.fetchone()
    if not row or not row[0]:
        return _json(409, {"code": "conflict"})
    body = {"message": "Diagnostic log received", "log_id": str(log_id), "status": "processing"}
    response = _json(202, body)
    response.headers["Location"] = f"/api/v1/reports/{log_id}"
    return response


async def healthz(request: Request) -> Response:
    return _json(200, {"status": "ok"})


@asynccontextmanager
async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
    await pool.open(wait=True, timeout=30)
    try:
        yield
    finally:
        await pool.close()


app = Starlette(routes=[Route("/ingest", ingest, methods=["POST"]), Route("/healthz", healthz)], lifespan=lifespan)
