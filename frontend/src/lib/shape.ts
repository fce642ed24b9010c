// Data shaping for the charts and tables: pure functions over the API's answers (tested in shape.test.ts).
import type { Alert, AnomalyTimeline, CellReading, DiagnosticLog, Health, Profile, SohBin } from "../api/types";

export const ANOMALY_CODES = ["voltage_imbalance", "overheating", "low_soh"] as const;
export type AnomalyCode = (typeof ANOMALY_CODES)[number];
export const ANOMALY_LABELS: Record<AnomalyCode, string> = {
  voltage_imbalance: "Voltage imbalance",
  overheating: "Overheating",
  low_soh: "Low SoH",
};

/** The report rules' thresholds per profile (analytics/domain/profiles.py). */
export const PROFILE_THRESHOLDS: Record<Profile, { imbalanceMv: number; overheatC: number; lowSohPct: number }> = {
  nmc: { imbalanceMv: 50, overheatC: 45, lowSohPct: 80 },
  lfp: { imbalanceMv: 30, overheatC: 45, lowSohPct: 80 },
};

export function formatNumber(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined || Number.isNaN(value) ? "–" : value.toFixed(digits);
}

export function formatDate(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 10) : "–";
}

export function formatDateTime(iso: string | null | undefined): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : "–";
}

/** The histogram's bins as chart rows, empty leading bins dropped (a fleet rarely has packs below 50 %). */
export function sohHistogramRows(bins: SohBin[]): { label: string; count: number; from: number; to: number }[] {
  const firstUsed = bins.findIndex((bin) => bin.count > 0);
  const start = firstUsed < 0 ? 0 : Math.min(firstUsed, Math.max(0, bins.length - 4));
  return bins.slice(start).map((bin) => ({ label: `${bin.from}–${bin.to}`, count: bin.count, from: bin.from, to: bin.to }));
}

export interface TimelineRow {
  date: string;
  reports: number;
  voltage_imbalance: number;
  overheating: number;
  low_soh: number;
}

/** One row per day, flat for the stacked bars. */
export function timelineRows(timeline: AnomalyTimeline): TimelineRow[] {
  return timeline.buckets.map((bucket) => ({
    date: bucket.date,
    reports: bucket.reports,
    voltage_imbalance: bucket.anomalies.voltage_imbalance,
    overheating: bucket.anomalies.overheating,
    low_soh: bucket.anomalies.low_soh,
  }));
}

export function timelineTotals(rows: TimelineRow[]): Record<AnomalyCode, number> & { reports: number } {
  return rows.reduce(
    (sum, row) => ({
      reports: sum.reports + row.reports,
      voltage_imbalance: sum.voltage_imbalance + row.voltage_imbalance,
      overheating: sum.overheating + row.overheating,
      low_soh: sum.low_soh + row.low_soh,
    }),
    { reports: 0, voltage_imbalance: 0, overheating: 0, low_soh: 0 },
  );
}

/** The opaque cursor of a list answer's `next` URL, or null at the end. */
export function cursorOf(next: string | null | undefined): string | null {
  if (!next) return null;
  try {
    return new URL(next, "http://localhost").searchParams.get("cursor");
  } catch {
    return null;
  }
}

export interface HealthPoint {
  t: number; // ms since the epoch, the x axis over time
  cycles: number | null;
  soh: number | null;
  fitted: number | null;
  forecast: number | null;
  band: [number, number] | null; // the forecast's prediction interval at this point
  jump: number | null; // the SoH after a jump, on the jump's point only
}

const DAY_MS = 86_400_000;

function dayMs(date: string | null): number | null {
  if (!date) return null;
  const t = Date.parse(`${date}T00:00:00Z`);
  return Number.isNaN(t) ? null : t;
}

/**
 * The health series over time or over cycles, with the forecast to the threshold: from the last fitted point
 * a straight line to (estimate, threshold), and the interval band widening from zero at the last point to
 * [high, low] at the threshold. Jumps are marked on the point that follows them.
 */
export function healthPoints(health: Health, axis: "time" | "cycles"): HealthPoint[] {
  const jumpsAt = new Map(health.jumps.map((jump) => [jump.log_id, jump.soh_after]));
  const points: HealthPoint[] = health.series.map((point) => ({
    t: Date.parse(point.timestamp),
    cycles: point.cycle_count,
    soh: point.battery_soh,
    fitted: point.fitted,
    forecast: null,
    band: null,
    jump: jumpsAt.get(point.log_id) ?? null,
  }));
  const last = points.at(-1);
  const forecast = health.forecast;
  if (!last || forecast.status !== "ok" || last.fitted === null) return points;
  const start = axis === "time" ? last.t : last.cycles;
  const estimate = axis === "time" ? dayMs(forecast.date.estimate) : forecast.cycle_count.estimate;
  // The earlier bound of the interval is when the threshold is reached soonest (the "low" date or cycle count).
  const early = axis === "time" ? dayMs(forecast.date.low) : forecast.cycle_count.low;
  const late = axis === "time" ? dayMs(forecast.date.high) : forecast.cycle_count.high;
  if (start === null || estimate === null || estimate <= start) return points;
  const origin = last.fitted;
  last.forecast = origin;
  last.band = [origin, origin];
  const threshold = forecast.threshold_soh;
  const slope = (threshold - origin) / (estimate - start);
  const lineAt = (x: number) => origin + slope * (x - start);
  const bandAt = (x: number): [number, number] => {
    const lowSlope = early !== null && early > start ? (threshold - origin) / (early - start) : slope;
    const highSlope = late !== null && late > start ? (threshold - origin) / (late - start) : slope;
    const a = origin + lowSlope * (x - start);
    const b = origin + highSlope * (x - start);
    return [Math.min(a, b), Math.max(a, b)];
  };
  const end = Math.max(estimate, late ?? estimate);
  const steps = 12;
  for (let i = 1; i <= steps; i += 1) {
    const x = start + ((end - start) * i) / steps;
    points.push({
      t: axis === "time" ? x : Number.NaN,
      cycles: axis === "cycles" ? x : null,
      soh: null,
      fitted: null,
      forecast: x <= estimate ? lineAt(x) : null,
      band: bandAt(x),
      jump: null,
    });
  }
  if (axis === "time") {
    // Keep the estimate itself on the chart so the forecast line ends exactly at the threshold.
    points.push({ t: estimate, cycles: null, soh: null, fitted: null, forecast: threshold, band: bandAt(estimate), jump: null });
    points.sort((a, b) => a.t - b.t);
  } else {
    points.push({ t: Number.NaN, cycles: estimate, soh: null, fitted: null, forecast: threshold, band: bandAt(estimate), jump: null });
    points.sort((a, b) => (a.cycles ?? 0) - (b.cycles ?? 0));
  }
  return points;
}

export { DAY_MS };

export interface CellStripRow {
  id: number;
  voltage: number;
  temperature: number;
  deviationMv: number;
}

export interface CellStrip {
  rows: CellStripRow[];
  voltageMin: number;
  voltageMax: number;
  spreadMv: number;
  medianVoltage: number;
  temperatureMax: number;
  bandTop: number; // voltage_min + the imbalance threshold: a cell above it makes the pack imbalanced
  outsideBand: number[]; // ids of the cells above the band
  hotCells: number[]; // ids of the cells above the overheating line
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 ? upper : ((sorted[mid - 1] ?? Number.NaN) + upper) / 2;
}

/** The log's cells for the strip charts, with the pack's min/max, the imbalance band and the hot cells. */
export function cellStrip(log: DiagnosticLog, thresholds: { imbalanceMv: number; overheatC: number }): CellStrip {
  const voltages = log.cells.map((cell) => cell.voltage);
  const medianVoltage = median(voltages);
  const voltageMin = Math.min(...voltages);
  const voltageMax = Math.max(...voltages);
  const bandTop = voltageMin + thresholds.imbalanceMv / 1000;
  const rows = log.cells.map((cell) => ({
    id: cell.id,
    voltage: cell.voltage,
    temperature: cell.temperature,
    deviationMv: Math.round((cell.voltage - medianVoltage) * 1e4) / 10,
  }));
  return {
    rows,
    voltageMin,
    voltageMax,
    spreadMv: Math.round((voltageMax - voltageMin) * 1e4) / 10,
    medianVoltage,
    temperatureMax: Math.max(...log.cells.map((cell) => cell.temperature)),
    bandTop,
    // A float tolerance: exactly the threshold is not an imbalance (reports/health rules).
    outsideBand: rows.filter((row) => row.voltage - bandTop > 1e-9).map((row) => row.id),
    hotCells: rows.filter((row) => row.temperature > thresholds.overheatC).map((row) => row.id),
  };
}

export function cellHistoryRows(readings: CellReading[]): { t: number; voltage: number; temperature: number; deviation: number }[] {
  return readings.map((reading) => ({
    t: Date.parse(reading.timestamp),
    voltage: reading.voltage,
    temperature: reading.temperature,
    deviation: reading.voltage_deviation_mv,
  }));
}

/** ISO `since` for a period of `days` ending at `end` (the vehicle's newest log, or now). */
export function periodSince(end: string | null, days: number, now: number = Date.now()): string {
  const endMs = end ? Date.parse(end) : now;
  return new Date(endMs - days * DAY_MS).toISOString();
}

export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Reports in a window counted per anomaly code, and the number of reports with any anomaly. */
export function anomalyCounts(reports: { anomaly_details: { code: string }[] }[]): {
  reportsWithAnomalies: number;
  byCode: Record<string, number>;
} {
  const byCode: Record<string, number> = {};
  let reportsWithAnomalies = 0;
  for (const report of reports) {
    if (report.anomaly_details.length > 0) reportsWithAnomalies += 1;
    for (const detail of report.anomaly_details) byCode[detail.code] = (byCode[detail.code] ?? 0) + 1;
  }
  return { reportsWithAnomalies, byCode };
}

export function alertsBySeverity(alerts: Pick<Alert, "severity">[]): { warning: number; critical: number } {
  return alerts.reduce(
    (sum, alert) => ({ ...sum, [alert.severity]: sum[alert.severity] + 1 }),
    { warning: 0, critical: 0 },
  );
}

/** The forecast in one sentence. */
export function forecastSentence(health: Health): string {
  const forecast = health.forecast;
  const interval = Math.round(forecast.interval * 100);
  switch (forecast.status) {
    case "ok":
      return `Reaches ${forecast.threshold_soh} % around ${forecast.date.estimate} (${interval} % interval ${forecast.date.low} to ${forecast.date.high}), at about ${forecast.cycle_count.estimate} cycles (${forecast.cycle_count.low}–${forecast.cycle_count.high}).`;
    case "reached":
      return `Already below ${forecast.threshold_soh} %.`;
    case "beyond_horizon":
      return `Not within 25 years or 100,000 cycles.`;
    default:
      return "Not enough data yet to forecast.";
  }
}

/** Tick labels for a time axis: months for spans over 90 days, days below. */
export function dateTickFormatter(fromMs: number, toMs: number): (t: number) => string {
  const long = Number.isFinite(fromMs) && Number.isFinite(toMs) && toMs - fromMs > 90 * DAY_MS;
  return (t: number) => (Number.isFinite(t) ? new Date(t).toISOString().slice(0, long ? 7 : 10) : "");
}

/** How far the SoH figure can be trusted, in the words of the PDF certificate (reports/certificate.py). */
export function confidenceText(health: Health): string {
  const forecast = health.forecast;
  if (health.soh_latest === null || forecast.status === "insufficient_data") {
    return `low: ${health.logs_used} log(s), too few for a trend; the figure is the last measurement`;
  }
  return `trend fitted to ${health.logs_used} logs; the forecast gives its ${Math.round(forecast.interval * 1000) / 10} % prediction interval`;
}
