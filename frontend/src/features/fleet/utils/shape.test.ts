import { describe, expect, it } from "vitest";
import type { AnomalyTimeline } from "../../../api/types";
import { sohHistogramRows, timelineRows, timelineTotals } from "./shape";

describe("sohHistogramRows", () => {
  const bins = Array.from({ length: 20 }, (_, i) => ({ from: i * 5, to: i * 5 + 5, count: i >= 16 ? i : 0 }));

  it("drops empty leading bins but keeps at least four", () => {
    const rows = sohHistogramRows(bins);
    expect(rows.map((row) => row.label)).toEqual(["80–85", "85–90", "90–95", "95–100"]);
    expect(rows.map((row) => row.count)).toEqual([16, 17, 18, 19]);
  });

  it("keeps the four top bins of an empty fleet", () => {
    const empty = bins.map((bin) => ({ ...bin, count: 0 }));
    expect(sohHistogramRows(empty)).toHaveLength(20);
  });

  it("starts at the first used bin", () => {
    const rows = sohHistogramRows(bins.map((bin) => (bin.from === 50 ? { ...bin, count: 2 } : bin)));
    expect(rows[0]).toEqual({ label: "50–55", count: 2, from: 50, to: 55 });
  });
});

describe("timeline", () => {
  const timeline: AnomalyTimeline = {
    days: 2,
    buckets: [
      { date: "2026-11-27", reports: 10, anomalies: { voltage_imbalance: 2, overheating: 1, low_soh: 0 } },
      { date: "2026-11-28", reports: 5, anomalies: { voltage_imbalance: 0, overheating: 3, low_soh: 0 } },
    ],
  };

  it("flattens each bucket into one row", () => {
    expect(timelineRows(timeline)[1]).toEqual({ date: "2026-11-28", reports: 5, voltage_imbalance: 0, overheating: 3, low_soh: 0 });
  });

  it("totals every code and the reports", () => {
    expect(timelineTotals(timelineRows(timeline))).toEqual({ reports: 15, voltage_imbalance: 2, overheating: 4, low_soh: 0 });
  });
});
