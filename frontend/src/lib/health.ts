// The health trend and its forecast (GET /vehicles/<id>/health), shaped for the chart and told in words: the
// vehicle page and the certificate show both.
import type { Health } from "../api/types";

export interface HealthPoint {
  t: number; // ms since the epoch, the x axis over time
  cycles: number | null;
  soh: number | null;
  fitted: number | null;
  forecast: number | null;
  band: [number, number] | null; // the forecast's prediction interval at this point
  jump: number | null; // the SoH after a jump, on the jump's point only
}

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
