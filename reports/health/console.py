"""Human-readable console rendering of a report (used by ``manage.py battery_report``).

Framework-free, like :mod:`reports.health.rules`: standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .rules import (
    LOW_SOH_UNIT,
    OVERHEATING_UNIT,
    VOLTAGE_IMBALANCE_UNIT,
    BatterySnapshot,
    HealthReport,
    voltage_extreme_cells,
)

__all__ = ["console_report_dict", "format_console_report"]

_RULE = "=" * 60
_DECIMALS_BY_UNIT = {VOLTAGE_IMBALANCE_UNIT: 3, OVERHEATING_UNIT: 2, LOW_SOH_UNIT: 2}


def console_report_dict(log: Mapping[str, Any], report: HealthReport) -> dict[str, Any]:
    """The report as the API's ``GET /reports/<id>`` lists it, minus the server-side fields.

    Keys: ``vehicle_id``, ``timestamp`` and ``cycle_count`` (from ``log``), then ``battery_soh``,
    ``anomalies``, ``anomaly_details`` and ``diagnostics`` (from ``report``).
    """
    data = report.as_dict()
    return {
        "vehicle_id": log.get("vehicle_id"),
        "timestamp": log.get("timestamp"),
        "battery_soh": data["battery_soh"],
        "cycle_count": log.get("cycle_count"),
        "anomalies": data["anomalies"],
        "anomaly_details": data["anomaly_details"],
        "diagnostics": data["diagnostics"],
    }


def _heading(title: str) -> list[str]:
    return [_RULE, title, _RULE]


def _fmt_value(value: float, unit: str) -> str:
    decimals = _DECIMALS_BY_UNIT.get(unit, 3)
    return f"{value:.{decimals}f} {unit}"


def _fmt_cells(ids: tuple[int, ...]) -> str:
    return ", ".join(str(i) for i in ids) if ids else "-"


def format_console_report(log: Mapping[str, Any], report: HealthReport) -> str:
    """Render ``log`` and its ``report`` for a terminal, in three sections.

    1. *Input summary*: vehicle id, timestamp, cell count, cycle count, nominal and current capacity (kWh).
    2. *Report*: the report JSON (``indent=2``, ``ensure_ascii=False``) with ``vehicle_id``,
       ``timestamp`` and ``cycle_count`` alongside ``battery_soh``, ``anomalies``, ``anomaly_details``
       and ``diagnostics``.
    3. *Detailed diagnostics*: voltage min / max (V) and spread (mV), temperature min / max / avg (°C),
       and each anomaly with its value, threshold and cells.

    The returned text ends with a newline.
    """
    diag = report.diagnostics
    raw_cells = log.get("cells")
    cell_count = len(raw_cells) if isinstance(raw_cells, (list, tuple)) else diag.cell_count

    lines: list[str] = []
    lines += _heading("Input summary")
    lines += [
        f"Vehicle ID:        {log.get('vehicle_id', '-')}",
        f"Timestamp:         {log.get('timestamp', '-')}",
        f"Cells:             {cell_count}",
        f"Cycle count:       {log.get('cycle_count', '-')}",
        f"Nominal capacity:  {log.get('nominal_capacity_kwh', '-')} kWh",
        f"Current capacity:  {log.get('current_capacity_kwh', '-')} kWh",
        "",
    ]

    lines += _heading("Report")
    lines += [json.dumps(console_report_dict(log, report), indent=2, ensure_ascii=False), ""]

    # Which cells hold the voltage extremes (best effort: the log should already be valid here).
    extremes = ""
    try:
        min_id, max_id = voltage_extreme_cells(BatterySnapshot.from_mapping(log).cells)
        extremes = f" (lowest: cell {min_id}, highest: cell {max_id})"
    except ValueError:
        pass

    lines += _heading("Detailed diagnostics")
    lines += [
        f"State of health:   {report.battery_soh:.2f} %",
        f"Voltage min:       {diag.voltage_min:.3f} V",
        f"Voltage max:       {diag.voltage_max:.3f} V",
        f"Voltage spread:    {diag.voltage_spread_mv:.3f} mV{extremes}",
        f"Temperature min:   {diag.temperature_min:.2f} °C",
        f"Temperature max:   {diag.temperature_max:.2f} °C",
        f"Temperature avg:   {diag.temperature_avg:.2f} °C",
    ]
    if report.anomaly_details:
        lines.append(f"Anomalies ({len(report.anomaly_details)}):")
        for detail in report.anomaly_details:
            lines += [
                f"  - {detail.message} [{detail.code}]",
                f"      value {_fmt_value(detail.value, detail.unit)}"
                f" (threshold {_fmt_value(detail.threshold, detail.unit)})",
                f"      cells: {_fmt_cells(detail.cells)}",
            ]
    else:
        lines.append("Anomalies:         none")
    return "\n".join(lines) + "\n"
