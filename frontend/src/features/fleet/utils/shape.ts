// The fleet overview's charts: pure functions over the summary and the anomaly timeline.
import type { AnomalyCode, AnomalyTimeline, SohBin } from "../../../api/types";
import { ANOMALY_CODES } from "../../../lib/vocabulary";

/** The histogram's bins as chart rows, empty leading bins dropped (a fleet rarely has packs below 50 %). */
export function sohHistogramRows(bins: SohBin[]): { label: string; count: number; from: number; to: number }[] {
  const firstUsed = bins.findIndex((bin) => bin.count > 0);
  const start = firstUsed < 0 ? 0 : Math.min(firstUsed, Math.max(0, bins.length - 4));
  return bins.slice(start).map((bin) => ({ label: `${bin.from}–${bin.to}`, count: bin.count, from: bin.from, to: bin.to }));
}

export type TimelineRow = { date: string; reports: number } & Record<AnomalyCode, number>;

function byCode(count: (code: AnomalyCode) => number): Record<AnomalyCode, number> {
  return Object.fromEntries(ANOMALY_CODES.map((code) => [code, count(code)])) as Record<AnomalyCode, number>;
}

/** One row per day, flat for the stacked bars. */
export function timelineRows(timeline: AnomalyTimeline): TimelineRow[] {
  return timeline.buckets.map((bucket) => ({
    date: bucket.date,
    reports: bucket.reports,
    ...byCode((code) => bucket.anomalies[code]),
  }));
}

export function timelineTotals(rows: TimelineRow[]): Record<AnomalyCode, number> & { reports: number } {
  return {
    reports: rows.reduce((sum, row) => sum + row.reports, 0),
    ...byCode((code) => rows.reduce((sum, row) => sum + row[code], 0)),
  };
}
