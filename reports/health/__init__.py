"""Framework-free battery health rules (API contract section 2, "The report").

Everything here is standard library only: no Django, REST framework or Celery, so the API, the
worker, the management commands and the tests compute reports with the same code.

Typical use::

    from reports.health import BatterySnapshot, evaluate

    report = evaluate(BatterySnapshot.from_mapping(validated_log))
    payload = report.as_dict()
"""

from .console import console_report_dict, format_console_report
from .rules import (
    ANOMALY_MESSAGES,
    LOW_SOH_CODE,
    LOW_SOH_MESSAGE,
    LOW_SOH_THRESHOLD_PCT,
    LOW_SOH_UNIT,
    OVERHEAT_THRESHOLD_C,
    OVERHEATING_CODE,
    OVERHEATING_MESSAGE,
    OVERHEATING_UNIT,
    SOH_CAP_PCT,
    VOLTAGE_IMBALANCE_CODE,
    VOLTAGE_IMBALANCE_MESSAGE,
    VOLTAGE_IMBALANCE_THRESHOLD_MV,
    VOLTAGE_IMBALANCE_UNIT,
    AnomalyDetail,
    BatterySnapshot,
    Cell,
    Diagnostics,
    HealthReport,
    UnprocessableLog,
    battery_soh,
    compute_diagnostics,
    evaluate,
    has_voltage_imbalance,
    is_low_soh,
    overheating_cells,
    state_of_health_pct,
    voltage_extreme_cells,
    voltage_spread_mv,
)

__all__ = [
    "ANOMALY_MESSAGES",
    "LOW_SOH_CODE",
    "LOW_SOH_MESSAGE",
    "LOW_SOH_THRESHOLD_PCT",
    "LOW_SOH_UNIT",
    "OVERHEATING_CODE",
    "OVERHEATING_MESSAGE",
    "OVERHEATING_UNIT",
    "OVERHEAT_THRESHOLD_C",
    "SOH_CAP_PCT",
    "VOLTAGE_IMBALANCE_CODE",
    "VOLTAGE_IMBALANCE_MESSAGE",
    "VOLTAGE_IMBALANCE_THRESHOLD_MV",
    "VOLTAGE_IMBALANCE_UNIT",
    "AnomalyDetail",
    "BatterySnapshot",
    "Cell",
    "Diagnostics",
    "HealthReport",
    "UnprocessableLog",
    "battery_soh",
    "compute_diagnostics",
    "console_report_dict",
    "evaluate",
    "format_console_report",
    "has_voltage_imbalance",
    "is_low_soh",
    "overheating_cells",
    "state_of_health_pct",
    "voltage_extreme_cells",
    "voltage_spread_mv",
]
