#!/usr/bin/env python
"""One cell's history (API §6): which storage to read it from, by measurement.

    .venv/bin/python -m benchmarks.bench_cell_history [--quick] [--database-url URL]

Reads, on a seeded database (``seed_diagnostics``; see docs/performance.md, "One cell's history"), for the
vehicle with the most logs, one cell's whole history (every log, oldest first, with the log's median cell
voltage for ``voltage_deviation_mv``), warm (the same query repeated: p50/p99) and on first read (each
storage on a vehicle none of the others has read, so its pages are not in shared_buffers; the OS cache
may still hold them):

- ``jsonb``: the JSONB column as it is, ``cells -> 42``; the median computed in the query from the JSONB,
  on the seeded rows and on an lz4-compressed copy of them (and, for context, without the median, and with
  ``jsonb_path_query_first`` instead of ``-> 42``);
- ``arrays``: per-log float8[] voltages and temperatures with the median stored per log (the storage
  implemented), and the same arrays with the median computed in the query;
- ``normalised``: a per-cell table (log_id, cell_id, voltage, temperature) joined to the log rows; the
  median stored per log, or computed from the per-cell rows. Built here from the JSONB for the measured
  vehicles' logs plus ``--normalised-sample`` other logs (the whole fleet would be ~100 rows per log).
- ``selector``: ``vehicles.history.vehicle_cell_history`` itself (Django, psycopg2, dicts), and with the
  result serialised to JSON (orjson): what the HTTP endpoint costs beyond its request cycle.

Writes, in a scratch database (``<database>_write``, created and dropped here), the same logs (96-120 cells)
through each storage's write path, single-log (one statement and commit per log) and bulk (one COPY of
``--bulk-chunk`` logs per transaction), in interleaved rounds so that a busy machine hits every storage
alike; and each storage's bytes per log. The storages there:

- ``before``: ``diagnostics/services.py`` as it was before this storage (read from git at ``--base``), i.e.
  the JSONB alone, compressed by pglz;
- ``arrays``: ``diagnostics/services.py`` as it is (Python fills the arrays and the median), with the
  JSONB compressed by lz4 (migration 0003): the storage implemented;
- ``arrays_pglz``: the same with the JSONB compressed by pglz as before: what the arrays alone cost;
- ``before_lz4``: the before-code with lz4 for the JSONB: what lz4 alone gives;
- ``generated``: the JSONB alone written by the before-code into a table whose arrays and median are
  STORED generated columns computed by PostgreSQL from the JSONB;
- ``normalised``: the before-code's row plus one per-cell row each (single: one statement with a
  data-modifying CTE; bulk: a second COPY).

The report task's publish is patched out in this process for every write path (it is the same for all).
Raw figures go to benchmarks/results/cell_history.json (``cell_history-reads.json`` with --skip-writes,
``cell_history-writes.json`` with --skip-reads; ``-quick`` added with --quick).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

from benchmarks.benchlib import Results, base_parser, django_setup_on_psycopg2, latency_summary, log, wait_quiet

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_cells"
LOG_TABLE = "diagnostics_diagnosticlog"
CELLS_TABLE = "bench_cell_readings"

# --------------------------------------------------------------------------------------------------------
# The read queries. Every one: the vehicle's logs in [since, until) that have the cell, oldest first, with
# (log id, timestamp, voltage, temperature, median voltage of the log).
# --------------------------------------------------------------------------------------------------------
_WHERE = "l.vehicle_id = %(vehicle)s AND l.timestamp >= %(since)s AND l.timestamp < %(until)s"
_TAIL = "ORDER BY l.timestamp, l.id LIMIT %(limit)s"
_JSONB_MEDIAN = (
    "(SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY (e->>'voltage')::float8) "
    "FROM jsonb_array_elements(l.cells) AS e)"
)
READ_QUERIES: dict[str, tuple[str, str]] = {
    "jsonb_median": (
        "JSONB as is: cells -> 42, median computed from the JSONB",
        f"SELECT l.id, l.timestamp, l.cells -> %(cell)s -> 'voltage', l.cells -> %(cell)s -> 'temperature', "
        f"{_JSONB_MEDIAN} FROM {LOG_TABLE} AS l WHERE {_WHERE} AND jsonb_array_length(l.cells) > %(cell)s {_TAIL}",
    ),
    "jsonb_lz4_median": (
        "JSONB as is, lz4-compressed copy of the rows: cells -> 42, median computed from the JSONB",
        f"SELECT l.id, l.timestamp, l.cells -> %(cell)s -> 'voltage', l.cells -> %(cell)s -> 'temperature', "
        f"{_JSONB_MEDIAN} FROM bench_lz4_logs AS l WHERE {_WHERE} AND jsonb_array_length(l.cells) > %(cell)s {_TAIL}",
    ),
    "jsonb_nomedian": (
        "JSONB as is: cells -> 42, no median (context)",
        f"SELECT l.id, l.timestamp, l.cells -> %(cell)s -> 'voltage', l.cells -> %(cell)s -> 'temperature' "
        f"FROM {LOG_TABLE} AS l WHERE {_WHERE} AND jsonb_array_length(l.cells) > %(cell)s {_TAIL}",
    ),
    "jsonb_path_nomedian": (
        "JSONB as is: jsonb_path_query_first, no median (context)",
        "SELECT l.id, l.timestamp, c -> 'voltage', c -> 'temperature' FROM ("
        "SELECT l.id, l.timestamp, jsonb_path_query_first(l.cells, '$[*] ? (@.id == $id)', "
        f"jsonb_build_object('id', %(cell)s)) AS c FROM {LOG_TABLE} AS l WHERE {_WHERE}) AS l "
        "WHERE c IS NOT NULL ORDER BY l.timestamp, l.id LIMIT %(limit)s",
    ),
    "arrays_stored_median": (
        "float8[] arrays, median stored per log (implemented)",
        f"SELECT l.id, l.timestamp, l.cell_voltages[%(index)s], l.cell_temperatures[%(index)s], l.voltage_median "
        f"FROM {LOG_TABLE} AS l WHERE {_WHERE} AND cardinality(l.cell_voltages) > %(cell)s {_TAIL}",
    ),
    "arrays_query_median": (
        "float8[] arrays, median computed from the array",
        f"SELECT l.id, l.timestamp, l.cell_voltages[%(index)s], l.cell_temperatures[%(index)s], "
        "(SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FROM unnest(l.cell_voltages) AS v) "
        f"FROM {LOG_TABLE} AS l WHERE {_WHERE} AND cardinality(l.cell_voltages) > %(cell)s {_TAIL}",
    ),
    "normalised_stored_median": (
        "per-cell table, median stored per log",
        f"SELECT l.id, l.timestamp, r.voltage, r.temperature, l.voltage_median FROM {LOG_TABLE} AS l "
        f"JOIN {CELLS_TABLE} AS r ON r.log_id = l.id AND r.cell_id = %(cell)s WHERE {_WHERE} {_TAIL}",
    ),
    "normalised_query_median": (
        "per-cell table, median computed from the per-cell rows",
        f"SELECT l.id, l.timestamp, r.voltage, r.temperature, (SELECT percentile_cont(0.5) WITHIN GROUP "
        f"(ORDER BY m.voltage) FROM {CELLS_TABLE} AS m WHERE m.log_id = l.id) FROM {LOG_TABLE} AS l "
        f"JOIN {CELLS_TABLE} AS r ON r.log_id = l.id AND r.cell_id = %(cell)s WHERE {_WHERE} {_TAIL}",
    ),
}
# Which storage each first read charges (one vehicle each, none read before by another storage).
SINGLE_SLICE = 50
STORAGES = ("before", "arrays", "arrays_pglz", "before_lz4", "generated", "normalised")
FIRST_READS = ("jsonb_median", "arrays_stored_median", "normalised_stored_median")

_NORMALISED_BUILD = f"""
CREATE TABLE {CELLS_TABLE} AS
SELECT l.id AS log_id, (e.c->>'id')::smallint AS cell_id, (e.c->>'voltage')::float8 AS voltage,
       (e.c->>'temperature')::float8 AS temperature
FROM {LOG_TABLE} AS l, jsonb_array_elements(l.cells) AS e(c)
WHERE l.vehicle_id = ANY(%(vehicles)s) OR l.id IN (SELECT id FROM {LOG_TABLE} ORDER BY id LIMIT %(sample)s)
"""


def _db_url(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def _timed_fetch(cursor: Any, sql: str, params: dict[str, Any]) -> tuple[float, int]:
    started = time.perf_counter()
    cursor.execute(sql, params)
    rows = cursor.fetchall()
    return time.perf_counter() - started, len(rows)


def _buffers(cursor: Any, sql: str, params: dict[str, Any]) -> dict[str, int]:
    """Shared-buffer hits and reads of one run (EXPLAIN ANALYZE BUFFERS, top node)."""
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
    plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    top = plan[0]["Plan"]
    return {"hit": top.get("Shared Hit Blocks", 0), "read": top.get("Shared Read Blocks", 0)}


# --------------------------------------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------------------------------------
def measure_reads(results: Results, args: Any, conn: Any) -> None:
    cur = conn.cursor()
    cur.execute(
        f"SELECT vehicle_id, count(*) FROM {LOG_TABLE} GROUP BY vehicle_id ORDER BY count(*) DESC, vehicle_id LIMIT 4"
    )
    vehicles = cur.fetchall()
    cur.execute(f"SELECT count(*), count(DISTINCT vehicle_id) FROM {LOG_TABLE}")
    total_logs, total_vehicles = cur.fetchone()
    cur.execute(
        f"SELECT pg_total_relation_size('{LOG_TABLE}'), pg_relation_size('{LOG_TABLE}'), "
        f"pg_indexes_size('{LOG_TABLE}'), current_setting('shared_buffers')"
    )
    total_size, heap_size, index_size, shared_buffers = cur.fetchone()
    cur.execute(
        "SELECT avg(pg_column_size(cells)), avg(pg_column_size(cell_voltages) + pg_column_size(cell_temperatures) "
        f"+ 8), avg(jsonb_array_length(cells)) FROM (SELECT * FROM {LOG_TABLE} LIMIT 20000) AS s"
    )
    jsonb_bytes, arrays_bytes, cells_avg = cur.fetchone()
    main_vehicle, main_count = vehicles[0]
    cur.execute(
        f"SELECT min(timestamp), max(timestamp), count(DISTINCT (ctid::text::point)[0]) FROM {LOG_TABLE} "
        "WHERE vehicle_id = %s",
        [main_vehicle],
    )
    first_ts, last_ts, heap_pages = cur.fetchone()
    results.meta["dataset"] = {
        "logs": total_logs,
        "vehicles": total_vehicles,
        "measured_vehicle_pk": main_vehicle,
        "measured_vehicle_logs": main_count,
        "measured_vehicle_span": [str(first_ts), str(last_ts)],
        "measured_vehicle_heap_pages": heap_pages,
        "cell": args.cell,
        "log_table_total_bytes": total_size,
        "log_table_heap_bytes": heap_size,
        "log_table_index_bytes": index_size,
        "shared_buffers": shared_buffers,
        "avg_cells_per_log": float(cells_avg),
        "avg_jsonb_bytes_per_log": float(jsonb_bytes),
        "avg_arrays_and_median_bytes_per_log": float(arrays_bytes),
    }
    log(f"dataset: {results.meta['dataset']}")

    # The per-cell table, for the measured vehicles and a sample of the others (uuid order: random).
    cur.execute(f"DROP TABLE IF EXISTS {CELLS_TABLE}")
    started = time.perf_counter()
    cur.execute(_NORMALISED_BUILD, {"vehicles": [pk for pk, _ in vehicles], "sample": args.normalised_sample})
    cur.execute(f"ALTER TABLE {CELLS_TABLE} ADD PRIMARY KEY (log_id, cell_id)")
    cur.execute(f"VACUUM ANALYZE {CELLS_TABLE}")
    cur.execute(f"SELECT count(*), count(DISTINCT log_id), pg_total_relation_size('{CELLS_TABLE}') FROM {CELLS_TABLE}")
    rows, logs, size = cur.fetchone()
    results.meta["normalised_table"] = {
        "rows": rows,
        "logs": logs,
        "total_bytes": size,
        "bytes_per_log": size / logs,
        "build_s": round(time.perf_counter() - started, 1),
    }
    log(f"normalised table: {results.meta['normalised_table']}")
    # The measured vehicle's rows again with the JSONB compressed by lz4 (cells::text::jsonb: a fresh value,
    # so it is compressed anew), for the JSONB's best case whatever the seeded rows were written with.
    cur.execute("DROP TABLE IF EXISTS bench_lz4_logs")
    cur.execute(
        "CREATE TABLE bench_lz4_logs (id uuid, vehicle_id bigint, timestamp timestamptz, cells jsonb COMPRESSION lz4)"
    )
    cur.execute(
        f"INSERT INTO bench_lz4_logs SELECT id, vehicle_id, timestamp, cells::text::jsonb FROM {LOG_TABLE} "
        "WHERE vehicle_id = %s",
        [main_vehicle],
    )
    cur.execute("CREATE UNIQUE INDEX ON bench_lz4_logs (vehicle_id, timestamp)")
    cur.execute("ANALYZE bench_lz4_logs")
    cur.execute(f"ANALYZE {LOG_TABLE}")

    window = {"since": first_ts, "until": last_ts + timedelta(seconds=1), "limit": 10_000}

    def params(vehicle: int) -> dict[str, Any]:
        return {**window, "vehicle": vehicle, "cell": args.cell, "index": args.cell + 1}

    # First reads: each storage on its own vehicle (vehicles[1:] were never read by this script).
    for key, (vehicle, _) in zip(FIRST_READS, vehicles[1:], strict=False):
        seconds, count = _timed_fetch(cur, READ_QUERIES[key][1], params(vehicle))
        buffers = _buffers(cur, READ_QUERIES[key][1], params(vehicle))
        results.add(
            f"first_{key}",
            f"first read: {READ_QUERIES[key][0]}",
            seconds * 1000,
            "ms",
            rows=count,
            vehicle_pk=vehicle,
        )
        results.rows[f"first_{key}"]["buffers_after"] = buffers

    # Warm: each query repeated, rounds interleaved across storages.
    samples: dict[str, list[float]] = {key: [] for key in READ_QUERIES}
    counts: dict[str, int] = {}
    for _, sql in READ_QUERIES.values():  # warm-up
        for _ in range(2):
            _timed_fetch(cur, sql, params(main_vehicle))
    for _ in range(args.runs):
        for key, (_, sql) in READ_QUERIES.items():
            seconds, counts[key] = _timed_fetch(cur, sql, params(main_vehicle))
            samples[key].append(seconds)
    for key, (label, sql) in READ_QUERIES.items():
        summary = latency_summary(samples[key])
        results.add(
            f"warm_{key}",
            f"warm: {label}",
            summary["p50_ms"],
            "ms p50",
            p99_ms=summary["p99_ms"],
            rows=counts[key],
        )
        results.rows[f"warm_{key}"]["buffers"] = _buffers(cur, sql, params(main_vehicle))

    # The selector (Django), and with its result serialised as the endpoint would.
    import orjson

    from fleets.models import Fleet
    from vehicles.history import vehicle_cell_history
    from vehicles.models import Vehicle

    vehicle = Vehicle.objects.get(pk=main_vehicle)
    fleet = Fleet.objects.get(pk=vehicle.fleet_id)
    call = {
        "fleet_id": fleet.pk,
        "vehicle_id": vehicle.vehicle_id,
        "cell_id": args.cell,
        "since": window["since"],
        "until": window["until"],
        "limit": 10_000,
        "after": None,
    }
    selector_s, serialised_s = [], []
    for run in range(args.runs + 2):
        started = time.perf_counter()
        history = vehicle_cell_history(**call)
        middle = time.perf_counter()
        body = orjson.dumps({"results": history, "next": None}, option=orjson.OPT_UTC_Z)
        ended = time.perf_counter()
        if run >= 2:
            selector_s.append(middle - started)
            serialised_s.append(ended - started)
    assert history is not None
    summary = latency_summary(selector_s)
    results.add(
        "warm_selector",
        "warm: vehicle_cell_history (Django)",
        summary["p50_ms"],
        "ms p50",
        p99_ms=summary["p99_ms"],
        rows=len(history),
    )
    summary = latency_summary(serialised_s)
    results.add(
        "warm_selector_json",
        "warm: vehicle_cell_history + orjson body",
        summary["p50_ms"],
        "ms p50",
        p99_ms=summary["p99_ms"],
        body_bytes=len(body),
    )

    # The storages must agree on every value (the JSONB is the record).
    reference = _values(cur, "jsonb_median", params(main_vehicle))
    for key in ("jsonb_lz4_median", "arrays_stored_median", "arrays_query_median", "normalised_stored_median"):
        got = _values(cur, key, params(main_vehicle))
        same = [row[:4] for row in got] == [row[:4] for row in reference] and all(
            abs(a[4] - b[4]) < 1e-12 for a, b in zip(got, reference, strict=True)
        )
        results.note(f"{key} returns the JSONB's values exactly: {same}")
        if not same:
            raise SystemExit(f"{key} disagrees with the JSONB")
    cur.execute(f"DROP TABLE {CELLS_TABLE}")
    cur.execute("DROP TABLE bench_lz4_logs")


def _values(cur: Any, key: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    cur.execute(READ_QUERIES[key][1], params)
    return [(row[0], row[1], float(row[2]), float(row[3]), float(row[4])) for row in cur.fetchall()]


# --------------------------------------------------------------------------------------------------------
# Writes
# --------------------------------------------------------------------------------------------------------
def _services_before(base: str) -> Any:
    """diagnostics/services.py as it was at `base`, loaded as a module of its own."""
    source = subprocess.run(
        ["git", "show", f"{base}:diagnostics/services.py"], cwd=REPO_ROOT, check=True, capture_output=True, text=True
    ).stdout
    spec = importlib.util.spec_from_loader("bench_services_before", loader=None)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]  (dataclasses look their module up)
    exec(compile(source, f"{base}:diagnostics/services.py", "exec"), module.__dict__)
    return module


_GENERATED_FUNCTIONS = """
CREATE OR REPLACE FUNCTION bench_cells_array(cells jsonb, field text) RETURNS float8[] IMMUTABLE
LANGUAGE sql AS $$ SELECT ARRAY(SELECT (c->>field)::float8 FROM jsonb_array_elements(cells) AS c) $$;
CREATE OR REPLACE FUNCTION bench_cells_median(cells jsonb) RETURNS float8 IMMUTABLE LANGUAGE sql AS $$
  SELECT CASE WHEN m.n % 2 = 1 THEN m.s[m.n / 2 + 1] ELSE (m.s[m.n / 2] + m.s[m.n / 2 + 1]) / 2 END
  FROM (SELECT array_agg(v ORDER BY v) AS s, count(*)::int AS n
        FROM (SELECT (c->>'voltage')::float8 AS v FROM jsonb_array_elements(cells) AS c) AS vs) AS m $$;
"""


def _make_logs(count: int, *, seed: int, vehicles: list[str], start: datetime) -> list[dict[str, Any]]:
    from simulator.generator import fleet_logs

    logs = []
    raw_logs = fleet_logs(
        vehicles=len(vehicles),
        logs_per_vehicle=-(-count // len(vehicles)),
        seed=seed,
        prefix="EV-W",
        start=start,
        interval=timedelta(hours=1),
        cell_counts=(96, 120),
    )
    for raw in raw_logs:
        if len(logs) == count:
            break
        logs.append({**raw, "timestamp": datetime.fromisoformat(raw["timestamp"])})
    return logs


def measure_writes(results: Results, args: Any, admin_url: str) -> None:
    import psycopg2
    from django.db import connection, connections

    import diagnostics.services as after
    from fleets.models import Fleet

    before = _services_before(args.base)
    for module in (before, after):
        module.reports_enqueue_on_commit = lambda log_ids: None
    results.meta["write_base"] = subprocess.run(
        ["git", "rev-parse", args.base], cwd=REPO_ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()

    fleet = Fleet.objects.create(name=f"bench-write-{uuid.uuid4().hex[:8]}")
    prefix_vehicles = [f"EV-W-{i:05d}" for i in range(50)]
    with connection.cursor() as cur:
        cur.execute(_GENERATED_FUNCTIONS)
        # Every storage gets its own table of the log table's shape (columns, indexes, constraints, and the
        # JSONB's compression: lz4 for the storage implemented and the lz4-alone context, else pglz as before).
        for name in STORAGES:
            table = f"bench_w_{name}"
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            cur.execute(f"CREATE TABLE {table} (LIKE {LOG_TABLE} INCLUDING ALL)")
            compression = "lz4" if name in ("arrays", "before_lz4") else "pglz"
            cur.execute(f"ALTER TABLE {table} ALTER COLUMN cells SET COMPRESSION {compression}")
            if name.startswith("arrays"):  # LIKE copies the arrays' STORAGE EXTERNAL, not the table's options
                cur.execute(f"ALTER TABLE {table} SET (toast_tuple_target = 4080)")
            if not name.startswith("arrays"):
                cur.execute(
                    f"ALTER TABLE {table} DROP COLUMN cell_voltages, DROP COLUMN cell_temperatures, "
                    "DROP COLUMN voltage_median"
                )
        cur.execute(
            "ALTER TABLE bench_w_generated "
            "ADD COLUMN cell_voltages float8[] GENERATED ALWAYS AS (bench_cells_array(cells, 'voltage')) STORED, "
            "ADD COLUMN cell_temperatures float8[] GENERATED ALWAYS AS (bench_cells_array(cells, 'temperature')) "
            "STORED, ADD COLUMN voltage_median float8 GENERATED ALWAYS AS (bench_cells_median(cells)) STORED"
        )
        cur.execute(f"DROP TABLE IF EXISTS {CELLS_TABLE}_w")
        cur.execute(
            f"CREATE TABLE {CELLS_TABLE}_w (log_id uuid NOT NULL, cell_id smallint NOT NULL, voltage float8 NOT NULL, "
            "temperature float8 NOT NULL, PRIMARY KEY (log_id, cell_id))"
        )
    connection.close()

    # The write paths. Each module's SQL names the log table; point it at the storage's own table.
    def single(module: Any, table: str, extra_cells: bool) -> Any:
        sql = module._INGEST_KNOWN_VEHICLE_SQL.replace(LOG_TABLE, table)
        if extra_cells:
            sql = sql.replace(
                "ON CONFLICT (vehicle_id, timestamp) DO NOTHING RETURNING 1) ",
                "ON CONFLICT (vehicle_id, timestamp) DO NOTHING RETURNING id), "
                f"cells_ins AS (INSERT INTO {CELLS_TABLE}_w (log_id, cell_id, voltage, temperature) "
                "SELECT ins.id, c.id, c.voltage, c.temperature FROM ins, "
                "unnest(%s::smallint[], %s::float8[], %s::float8[]) AS c(id, voltage, temperature)) ",
            )

        def ingest(data: dict[str, Any]) -> None:
            row = module._log_row(uuid.uuid4(), data)
            params = [data["vehicle_id"], fleet.pk, *row]
            if extra_cells:
                cells = data["cells"]
                params += [[c["id"] for c in cells], [c["voltage"] for c in cells], [c["temperature"] for c in cells]]
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                assert cursor.fetchone()[0], "every benchmark log is new"

        return ingest

    def bulk(module: Any, table: str, extra_cells: bool) -> Any:
        copy_sql = module._COPY_LOGS_SQL.replace(LOG_TABLE, table)

        def ingest(logs: list[dict[str, Any]], pks: dict[str, int]) -> None:
            from django.db import transaction

            rows = [(uuid.uuid4(), (pks[data["vehicle_id"]], data["timestamp"]), data) for data in logs]
            saved = module._COPY_LOGS_SQL
            module._COPY_LOGS_SQL = copy_sql
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    assert module._copy_new_logs(cursor, rows)
                    if extra_cells:
                        buffer = "".join(
                            f"{log_id}\t{c['id']}\t{c['voltage']!r}\t{c['temperature']!r}\n"
                            for log_id, _, data in rows
                            for c in data["cells"]
                        ).encode()
                        cursor.cursor.copy_expert(f"COPY {CELLS_TABLE}_w FROM STDIN", __import__("io").BytesIO(buffer))
            finally:
                module._COPY_LOGS_SQL = saved

        return ingest

    storages = {
        "before": (before, "bench_w_before", False),
        "arrays": (after, "bench_w_arrays", False),
        "arrays_pglz": (after, "bench_w_arrays_pglz", False),
        "before_lz4": (before, "bench_w_before_lz4", False),
        "generated": (before, "bench_w_generated", False),
        "normalised": (before, "bench_w_normalised", True),
    }
    # The vehicles exist (the fast path's case); the bulk path needs their primary keys.
    for data in _make_logs(
        len(prefix_vehicles), seed=9, vehicles=prefix_vehicles, start=datetime(2020, 1, 1, tzinfo=UTC)
    ):
        after.diagnostic_log_ingest(fleet_id=fleet.pk, data=data)
    with connection.cursor() as cur:
        cur.execute("SELECT vehicle_id, id FROM diagnostics_vehicle WHERE fleet_id = %s", [fleet.pk])
        pks = dict(cur.fetchall())

    rounds = args.write_rounds
    single_n, bulk_n = args.single_logs, args.bulk_logs
    # Each slice of logs (SINGLE_SLICE single ingests, or one bulk chunk) goes into every storage in turn, the
    # order rotating slice by slice: a burst of the other load on a shared machine hits all storages alike,
    # and the rate is taken from the median slice (the total time is kept too).
    slices: dict[str, dict[str, list[float]]] = {name: {"single": [], "bulk": []} for name in storages}
    names = list(storages)
    start = datetime(2021, 1, 1, tzinfo=UTC)
    turn = 0
    for round_no in range(rounds):
        for kind in ("single", "bulk"):
            count = single_n if kind == "single" else bulk_n
            size = SINGLE_SLICE if kind == "single" else args.bulk_chunk
            # The same logs for every storage (each has its own table); a new time window per round and kind.
            offset = timedelta(days=400 * (2 * round_no + (kind == "bulk")))
            logs = _make_logs(count, seed=round_no, vehicles=prefix_vehicles, start=start + offset)
            writers = {
                name: single(module, table, extra) if kind == "single" else bulk(module, table, extra)
                for name, (module, table, extra) in storages.items()
            }
            for i in range(0, count, size):
                part = logs[i : i + size]
                turn += 1
                for name in names[turn % len(names) :] + names[: turn % len(names)]:
                    began = time.perf_counter()
                    if kind == "single":
                        for data in part:
                            writers[name](data)
                    else:
                        writers[name](part, pks)
                    slices[name][kind].append((time.perf_counter() - began) / len(part))
        log(f"write round {round_no + 1}/{rounds} done")

    with connection.cursor() as cur:
        sizes = {}
        for name, (_, table, extra) in storages.items():
            cur.execute(f"VACUUM ANALYZE {table}")
            cur.execute(f"SELECT pg_total_relation_size('{table}'), count(*) FROM {table}")
            size, count = cur.fetchone()
            if extra:
                cur.execute(f"VACUUM ANALYZE {CELLS_TABLE}_w")
                cur.execute(f"SELECT pg_total_relation_size('{CELLS_TABLE}_w')")
                size += cur.fetchone()[0]
            sizes[name] = size / count
    for name in storages:
        for kind, label in (("single", "single-log ingest"), ("bulk", f"bulk COPY ({args.bulk_chunk}/txn)")):
            per_log = slices[name][kind]
            results.add(
                f"write_{kind}_{name}",
                f"{label}: {name}",
                1 / statistics.median(per_log),
                "logs/s",
                overall_logs_per_s=len(per_log) / sum(per_log),
                slices=len(per_log),
            )
        results.add(f"bytes_per_log_{name}", f"table + indexes per log: {name}", sizes[name], "bytes")
    for name in STORAGES[1:]:
        results.ratio(
            f"single-log ingest {name} / before",
            f"write_single_{name}",
            "write_single_before",
            target=0.9 if name == "arrays" else None,
        )
        results.ratio(
            f"bulk COPY {name} / before",
            f"write_bulk_{name}",
            "write_bulk_before",
            target=0.9 if name == "arrays" else None,
        )
    with connection.cursor() as cur:
        for name in STORAGES:
            cur.execute(f"DROP TABLE bench_w_{name}")
        cur.execute(f"DROP TABLE {CELLS_TABLE}_w")
    connections.close_all()
    del psycopg2, admin_url


def main() -> int:
    p = base_parser(__doc__ or "")
    p.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="the seeded database (reads)")
    p.add_argument("--cell", type=int, default=42)
    p.add_argument("--runs", type=int, default=None, help="warm runs per query (default 40, quick 5)")
    p.add_argument(
        "--normalised-sample",
        type=int,
        default=None,
        help="logs of other vehicles in the per-cell table (default 100000, quick 1000)",
    )
    p.add_argument("--single-logs", type=int, default=None, help="single-log ingests per storage and round")
    p.add_argument("--bulk-logs", type=int, default=None, help="bulk-ingested logs per storage and round")
    p.add_argument("--bulk-chunk", type=int, default=1000)
    p.add_argument("--write-rounds", type=int, default=None)
    p.add_argument(
        "--base", default=None, help="git revision of the services before this storage (default: merge-base with main)"
    )
    p.add_argument("--skip-reads", action="store_true")
    p.add_argument("--skip-writes", action="store_true")
    args = p.parse_args()
    if args.base is None:
        args.base = subprocess.run(
            ["git", "merge-base", "HEAD", "main"], cwd=REPO_ROOT, check=True, capture_output=True, text=True
        ).stdout.strip()
    args.runs = args.runs or (5 if args.quick else 40)
    args.normalised_sample = (
        args.normalised_sample if args.normalised_sample is not None else (1000 if args.quick else 100_000)
    )
    args.single_logs = args.single_logs or (100 if args.quick else 1000)
    args.bulk_logs = args.bulk_logs or (1000 if args.quick else 5000)
    args.write_rounds = args.write_rounds or (1 if args.quick else 3)
    if args.wait_quiet:
        wait_quiet(args.wait_quiet)
    results = Results("bench_cell_history", args)

    import psycopg2

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

    if not args.skip_reads:
        django_setup_on_psycopg2()
        conn = psycopg2.connect(args.database_url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT version()")
            results.meta["postgres"] = cur.fetchone()[0]
        measure_reads(results, args, conn)
        conn.close()
        from django.db import connections

        connections.close_all()

    if not args.skip_writes:
        write_db = urlparse(args.database_url).path.lstrip("/") + "_write"
        admin = psycopg2.connect(_db_url(args.database_url, "postgres"))
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{write_db}"')
            cur.execute(f'CREATE DATABASE "{write_db}"')
        try:
            from django.conf import settings

            if settings.configured:
                settings.DATABASES["default"]["NAME"] = write_db
            else:
                os.environ["DATABASE_URL"] = _db_url(args.database_url, write_db)
                django_setup_on_psycopg2()
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            measure_writes(results, args, _db_url(args.database_url, "postgres"))
        finally:
            from django.db import connections

            connections.close_all()
            with admin.cursor() as cur, contextlib.suppress(Exception):
                cur.execute(f'DROP DATABASE IF EXISTS "{write_db}"')
            admin.close()

    results.print()
    results.save("cell_history" + ("-writes" if args.skip_reads else "-reads" if args.skip_writes else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
