import { describe, expect, it } from "vitest";
import type { AnomalyTimeline, DiagnosticLog, Health } from "../api/types";
import {
  alertsBySeverity,
  anomalyCounts,
  cellStrip,
  confidenceText,
  cursorOf,
  dateTickFormatter,
  forecastSentence,
  healthPoints,
  median,
  periodSince,
  sohHistogramRows,
  timelineRows,
  timelineTotals,
} from "./shape";

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

describe("cursorOf", () => {
  it("reads the cursor of a next URL", () => {
    expect(cursorOf("http://127.0.0.1:8000/api/v1/vehicles?cursor=WyI3MS40%3D&limit=2&ordering=latest_soh")).toBe("WyI3MS40=");
  });
  it("is null at the end", () => {
    expect(cursorOf(null)).toBeNull();
    expect(cursorOf("http://x/api/v1/vehicles?limit=2")).toBeNull();
  });
});

function health(overrides: Partial<Health["forecast"]> = {}): Health {
  return {
    vehicle_id: "EV-1",
    profile: "nmc",
    logs_used: 3,
    soh_latest: 90,
    fade: { percent_per_1000_cycles: 5, percent_per_year: 2 },
    forecast: {
      status: "ok",
      threshold_soh: 80,
      interval: 0.8,
      cycle_count: { estimate: 2200, low: 2000, high: 2500 },
      date: { estimate: "2030-01-01", low: "2029-01-01", high: "2031-01-01" },
      method: "huber",
      version: "1",
      ...overrides,
    },
    jumps: [{ log_id: "b", timestamp: "2026-01-02T00:00:00.000000Z", soh_before: 85, soh_after: 91, delta: 6 }],
    series: [
      { log_id: "a", timestamp: "2026-01-01T00:00:00.000000Z", cycle_count: 100, battery_soh: 85, fitted: null },
      { log_id: "b", timestamp: "2026-01-02T00:00:00.000000Z", cycle_count: 200, battery_soh: 91, fitted: 91 },
      { log_id: "c", timestamp: "2026-01-03T00:00:00.000000Z", cycle_count: 300, battery_soh: 90, fitted: 90 },
    ],
  };
}

describe("healthPoints", () => {
  it("marks the jump on the point after it", () => {
    const points = healthPoints(health(), "time");
    expect(points.filter((point) => point.jump !== null).map((point) => point.jump)).toEqual([91]);
  });

  it("draws the forecast from the last fitted value to the threshold at the estimate", () => {
    const points = healthPoints(health(), "cycles");
    const last = points.find((point) => point.cycles === 300);
    expect(last?.forecast).toBe(90);
    expect(last?.band).toEqual([90, 90]);
    const atEstimate = points.find((point) => point.cycles === 2200 && point.soh === null);
    expect(atEstimate?.forecast).toBe(80);
    // The band at the estimate spans the lines through (low, 80) and (high, 80).
    const [lo, hi] = atEstimate?.band ?? [0, 0];
    expect(lo).toBeCloseTo(90 - (10 * 1900) / 1700, 6);
    expect(hi).toBeCloseTo(90 - (10 * 1900) / 2200, 6);
    expect(lo).toBeLessThan(80);
    expect(hi).toBeGreaterThan(80);
    // Sorted by cycles, the forecast never above the last fitted value.
    const xs = points.map((point) => point.cycles ?? 0);
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
  });

  it("goes out to the end of the interval on the time axis", () => {
    const points = healthPoints(health(), "time");
    expect(points.at(-1)?.t).toBe(Date.parse("2031-01-01T00:00:00Z"));
    expect(points.find((point) => point.t === Date.parse("2030-01-01T00:00:00Z"))?.forecast).toBe(80);
  });

  it("adds nothing without a forecast", () => {
    expect(healthPoints(health({ status: "insufficient_data" }), "time")).toHaveLength(3);
    expect(healthPoints(health({ status: "reached" }), "cycles")).toHaveLength(3);
  });
});

describe("forecastSentence", () => {
  it("names the date, the interval and the cycles", () => {
    expect(forecastSentence(health())).toBe(
      "Reaches 80 % around 2030-01-01 (80 % interval 2029-01-01 to 2031-01-01), at about 2200 cycles (2000–2500).",
    );
  });
  it("says when there is not enough data", () => {
    expect(forecastSentence(health({ status: "insufficient_data" }))).toBe("Not enough data yet to forecast.");
  });
});

describe("cellStrip", () => {
  const log = {
    cells: [
      { id: 0, voltage: 4.0, temperature: 30 },
      { id: 1, voltage: 4.05, temperature: 46 },
      { id: 2, voltage: 4.051, temperature: 45 },
      { id: 3, voltage: 4.02, temperature: 31 },
    ],
  } as DiagnosticLog;

  it("finds min, max, spread and the cells above the band", () => {
    const strip = cellStrip(log, { imbalanceMv: 50, overheatC: 45 });
    expect(strip.voltageMin).toBe(4.0);
    expect(strip.voltageMax).toBe(4.051);
    expect(strip.spreadMv).toBe(51);
    // Exactly 50 mV above the lowest cell is inside the band (the rules: 50.000 mV is not an imbalance).
    expect(strip.outsideBand).toEqual([2]);
    // Exactly 45 °C is not overheating.
    expect(strip.hotCells).toEqual([1]);
    expect(strip.rows.map((row) => row.deviationMv)).toEqual([-35, 15, 16, -15]);
  });
});

describe("small helpers", () => {
  it("median", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it("periodSince counts back from the end", () => {
    expect(periodSince("2026-01-31T00:00:00Z", 30)).toBe("2026-01-01T00:00:00.000Z");
    expect(periodSince(null, 1, Date.parse("2026-01-02T00:00:00Z"))).toBe("2026-01-01T00:00:00.000Z");
  });

  it("anomalyCounts", () => {
    const reports = [{ anomaly_details: [{ code: "overheating" }, { code: "low_soh" }] }, { anomaly_details: [] }, { anomaly_details: [{ code: "overheating" }] }];
    expect(anomalyCounts(reports)).toEqual({ reportsWithAnomalies: 2, byCode: { overheating: 2, low_soh: 1 } });
  });

  it("alertsBySeverity", () => {
    expect(alertsBySeverity([{ severity: "warning" }, { severity: "critical" }, { severity: "warning" }])).toEqual({ warning: 2, critical: 1 });
  });

  it("dateTickFormatter shows days on short spans and months on long ones", () => {
    const t = Date.parse("2026-03-04T00:00:00Z");
    expect(dateTickFormatter(t, t + 10 * 86_400_000)(t)).toBe("2026-03-04");
    expect(dateTickFormatter(t, t + 200 * 86_400_000)(t)).toBe("2026-03");
  });
});

describe("confidenceText", () => {
  it("names the logs and the interval when there is a trend", () => {
    expect(confidenceText(health())).toBe("trend fitted to 3 logs; the forecast gives its 80 % prediction interval");
  });
  it("says low when there is no trend", () => {
    expect(confidenceText(health({ status: "insufficient_data" }))).toBe(
      "low: 3 log(s), too few for a trend; the figure is the last measurement",
    );
  });
});
