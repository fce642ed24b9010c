"""The battery health certificate: one A4 page in PDF, rendered with reportlab (issue 13).

Plain Python over plain data: :class:`CertificateData` in, PDF bytes out; no Django (an import-linter contract
keeps it so). ``reports.selectors.vehicle_certificate_data`` gathers the data (the vehicle's registry, its
health trend and forecast exactly as ``GET /api/v1/vehicles/<id>/health`` answers, its latest report and the
anomalies of the last 90 days); ``certificate_pdf`` draws it.

From a shell::

    from django.utils import timezone
    from reports.certificate import certificate_pdf
    from reports.selectors import vehicle_certificate_data
    from vehicles.models import Vehicle

    data = vehicle_certificate_data(vehicle=Vehicle.objects.get(vehicle_id="EV-0001"), now=timezone.now())
    open("certificate.pdf", "wb").write(certificate_pdf(data))
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from common import vocabulary

ANOMALY_WINDOW_DAYS = 90
# The anomaly codes as a reader names them, in the report's order (common.vocabulary).
ANOMALY_LABELS = {term.code: term.label for term in vocabulary.ANOMALIES}
# Colour-blind-safe pair (Okabe-Ito blue and vermillion) for the measured points and the fitted trend.
_MEASURED = colors.HexColor("#0072B2")
_FITTED = colors.HexColor("#D55E00")
_THRESHOLD = colors.HexColor("#555555")


@dataclass(frozen=True, slots=True)
class CertificateData:
    """What the certificate states about one vehicle at ``issued_at`` (aware, UTC).

    ``health``: the ``GET /api/v1/vehicles/<id>/health`` answer (soh_latest, fade, forecast, jumps, series);
    ``latest_*``: the completed report with the newest log timestamp (SoH %, cycle count, rules version);
    ``anomalies_90d``: reports with each anomaly code among the logs of the last 90 days (every code present);
    ``reports_90d``: the completed reports of those days; ``rules_versions``: the distinct rules versions of
    the vehicle's reports, newest first.
    """

    vehicle_id: str
    vin: str | None
    model: str | None
    manufacture_date: date | None
    profile: str
    health: dict[str, Any]
    latest_log_id: str
    latest_at: datetime
    latest_soh: float
    latest_cycle_count: int
    latest_rules_version: str
    reports_90d: int
    anomalies_90d: dict[str, int]
    rules_versions: tuple[str, ...]
    issued_at: datetime

    @property
    def issue_date(self) -> date:
        return self.issued_at.date()


def certificate_filename(data: CertificateData) -> str:
    """``battery-certificate-<vehicle_id>-<YYYY-MM-DD>.pdf`` (a vehicle id holds only ``A-Za-z0-9._:-``)."""
    return f"battery-certificate-{data.vehicle_id}-{data.issue_date.isoformat()}.pdf"


def soh_text(value: float | None) -> str:
    """A SoH in % as the certificate prints it: 2 decimals, as the API's figures."""
    return "n/a" if value is None else f"{value:.2f} %"


def _or_unset(value: object) -> str:
    return "not registered" if value is None else str(value)


def _forecast_lines(forecast: dict[str, Any]) -> list[str]:
    threshold = f"{forecast['threshold_soh']:g} %"
    interval = f"{forecast['interval'] * 100:g} %"
    status = forecast["status"]
    if status == "ok":
        cycles, when = forecast["cycle_count"], forecast["date"]
        high_cycles = "beyond horizon" if cycles["high"] is None else f"{cycles['high']:,}"
        high_date = "beyond horizon" if when["high"] is None else when["high"]
        return [
            f"Reaches {threshold} SoH at about {cycles['estimate']:,} cycles, around {when['estimate']}.",
            f"{interval} prediction interval: {cycles['low']:,} to {high_cycles} cycles, {when['low']} to {high_date}.",
        ]
    return {
        "insufficient_data": [f"Too few logs or too short a span to forecast when SoH reaches {threshold}."],
        "reached": [f"The fitted SoH is already below {threshold}."],
        "beyond_horizon": [f"SoH is not expected to reach {threshold} within 25 years or 100,000 cycles."],
    }.get(status, [f"Forecast status: {status}."])


def _trend_chart(series: list[dict[str, Any]], threshold_soh: float, width: float, height: float) -> Drawing:
    """SoH (%) over time: the measured points, the fitted trend and the threshold line."""
    drawing = Drawing(width, height)
    plot = LinePlot()
    plot.x, plot.y = 40, 34
    plot.width, plot.height = width - 70, height - 50
    measured = [(_day_number(point["timestamp"]), point["battery_soh"]) for point in series]
    fitted = [(_day_number(point["timestamp"]), point["fitted"]) for point in series if point["fitted"] is not None]
    # The fitted trend first, so that the measured points are drawn over it.
    plot.data = ([fitted] if fitted else []) + [measured]
    trend_line, points = (plot.lines[0], plot.lines[1]) if fitted else (None, plot.lines[0])
    if trend_line is not None:
        trend_line.strokeColor = _FITTED
        trend_line.strokeWidth = 1.0
    points.strokeColor = None  # points only
    points.symbol = makeMarker("FilledSquare", size=1.8, fillColor=_MEASURED, strokeColor=_MEASURED)
    values = [soh for _, soh in measured] + [soh for _, soh in fitted] + [threshold_soh]
    low, high = min(values), max(values)
    span = max(high - low, 2.0)
    plot.yValueAxis.valueMin = max(0.0, low - 0.1 * span)
    plot.yValueAxis.valueMax = min(100.0, high + 0.1 * span) if high <= 100 else high
    plot.yValueAxis.labelTextFormat = "%g %%"
    plot.yValueAxis.labels.fontSize = 7
    first, last = measured[0][0], measured[-1][0]
    plot.xValueAxis.valueMin = first
    plot.xValueAxis.valueMax = max(last, first + 1)
    plot.xValueAxis.labelTextFormat = lambda day: date.fromordinal(int(day)).isoformat()
    plot.xValueAxis.labels.fontSize = 7
    plot.xValueAxis.labels.angle = 0
    # Ticks at the first and the last log and evenly between (the axis' own choice can miss both ends).
    plot.xValueAxis.valueSteps = [first + (plot.xValueAxis.valueMax - first) * k / 4 for k in range(5)]
    drawing.add(plot)
    axis_min, axis_max = plot.yValueAxis.valueMin, plot.yValueAxis.valueMax
    if axis_min <= threshold_soh <= axis_max:
        y = plot.y + plot.height * (threshold_soh - axis_min) / (axis_max - axis_min)
        drawing.add(
            Line(plot.x, y, plot.x + plot.width, y, strokeColor=_THRESHOLD, strokeDashArray=[3, 2], strokeWidth=0.8)
        )
        drawing.add(String(plot.x + plot.width - 2, y + 2, f"{threshold_soh:g} %", fontSize=7, textAnchor="end"))
    legend = Legend()
    legend.x, legend.y = plot.x, 10
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.fontSize = 7
    legend.dx = legend.dy = 6
    legend.variColumn = 1  # each entry as wide as its text
    legend.deltax = 0
    legend.autoXPadding = 14
    legend.colorNamePairs = [
        (_MEASURED, "measured SoH (each log)"),
        (_FITTED, "fitted trend"),
        (_THRESHOLD, "end-of-life threshold"),
    ]
    drawing.add(legend)
    return drawing


def _day_number(timestamp: str) -> float:
    """An ISO 8601 timestamp as a fractional proleptic Gregorian day number (the chart's x axis)."""
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return moment.date().toordinal() + (moment.hour * 3600 + moment.minute * 60 + moment.second) / 86400


def certificate_pdf(data: CertificateData) -> bytes:
    """The certificate as PDF bytes: one A4 page."""
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=14 * mm,
        title=f"Battery health certificate {data.vehicle_id}",
        author="Battery health service",
        subject=f"Issued {data.issue_date.isoformat()}",
    )
    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=9, leading=12)
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=10, textColor=colors.HexColor("#444444"))
    heading = ParagraphStyle("heading", parent=styles["Heading3"], spaceBefore=6, spaceAfter=3)
    health = data.health
    forecast = health["forecast"]
    fade = health["fade"]
    story: list[Any] = [
        Paragraph("Battery health certificate", styles["Title"]),
        Paragraph(f"Vehicle {data.vehicle_id} &middot; issued {data.issue_date.isoformat()} (UTC)", styles["Heading4"]),
    ]

    def table(rows: list[list[str]], widths: tuple[float, float]) -> Table:
        # The values as paragraphs, so that long ones wrap; registry text is escaped (it is the fleet's input).
        cells = [[name, Paragraph(escape(value).replace("\n", "<br/>"), body)] for name, value in rows]
        grid = Table(cells, colWidths=[widths[0] * mm, widths[1] * mm], hAlign="LEFT")
        grid.setStyle(
            TableStyle(
                [
                    ("FONTSIZE", (0, 0), (-1, -1), 9),
                    ("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold"),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#CCCCCC")),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                    ("TOPPADDING", (0, 0), (-1, -1), 2),
                ]
            )
        )
        return grid

    story += [
        Paragraph("Vehicle", heading),
        table(
            [
                ["Vehicle id", data.vehicle_id],
                ["VIN", _or_unset(data.vin)],
                ["Model", _or_unset(data.model)],
                ["Manufacture date", _or_unset(data.manufacture_date and data.manufacture_date.isoformat())],
                ["Battery profile", data.profile],
            ],
            (45, 125),
        ),
        Paragraph("State of health", heading),
        table(
            [
                ["State of health (trend)", soh_text(health["soh_latest"])],
                ["Latest measured SoH", f"{soh_text(data.latest_soh)} (log of {_utc(data.latest_at)})"],
                ["Cycle count", str(data.latest_cycle_count)],
                ["Confidence", _confidence(health)],
                ["Fade", _fade_text(fade)],
                [f"Forecast to {forecast['threshold_soh']:g} %", "\n".join(_forecast_lines(forecast))],
                ["Sudden steps (jumps)", _jumps_text(health["jumps"])],
            ],
            (45, 125),
        ),
    ]
    if health["series"]:
        story += [
            Paragraph("SoH over time", heading),
            _trend_chart(health["series"], forecast["threshold_soh"], 174 * mm, 62 * mm),
        ]
    anomaly_rows = [[label, str(data.anomalies_90d.get(code, 0))] for code, label in ANOMALY_LABELS.items()]
    story += [
        Paragraph(f"Anomalies in the last {ANOMALY_WINDOW_DAYS} days", heading),
        Paragraph(f"Reports with each anomaly among the {data.reports_90d} reports of the period.", small),
        table(anomaly_rows, (45, 30)),
        Paragraph("Method", heading),
        Paragraph(
            f"Trend and forecast: {forecast['method']}, version {forecast['version']}, over "
            f"{health['logs_used']} logs; the SoH of each log is current / nominal capacity. "
            f"Report rules version {data.latest_rules_version} (profile {data.profile})"
            + (
                f"; the vehicle's reports were computed by rules versions {', '.join(data.rules_versions)}."
                if len(data.rules_versions) > 1
                else "."
            ),
            body,
        ),
        Spacer(1, 4 * mm),
        Paragraph(
            f"Issued {data.issue_date.isoformat()} at {data.issued_at.strftime('%H:%M')} UTC by the battery health "
            f"service from the vehicle's diagnostic logs up to {_utc(data.latest_at)} (latest report "
            f"{data.latest_log_id}). The figures describe the battery management system's readings; they are not "
            "a laboratory capacity test.",
            small,
        ),
    ]
    document.build(story)
    return buffer.getvalue()


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _confidence(health: dict[str, Any]) -> str:
    forecast = health["forecast"]
    if health["soh_latest"] is None or forecast["status"] == "insufficient_data":
        return f"low: {health['logs_used']} log(s), too few for a trend; the figure is the last measurement"
    return (
        f"trend fitted to {health['logs_used']} logs; the forecast gives its {forecast['interval'] * 100:g} % "
        "prediction interval"
    )


def _fade_text(fade: dict[str, Any]) -> str:
    parts = []
    if fade["percent_per_year"] is not None:
        parts.append(f"{fade['percent_per_year']:.2f} % per year")
    if fade["percent_per_1000_cycles"] is not None:
        parts.append(f"{fade['percent_per_1000_cycles']:.2f} % per 1,000 cycles")
    return ", ".join(parts) or "n/a"


def _jumps_text(jumps: list[dict[str, Any]]) -> str:
    if not jumps:
        return "none"
    return "; ".join(
        f"{jump['timestamp'][:10]}: {jump['soh_before']:.2f} % to {jump['soh_after']:.2f} %" for jump in jumps
    )
