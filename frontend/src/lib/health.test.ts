import { describe, expect, it } from "vitest";
import { healthFixture as health } from "../testing/fixtures";
import { forecastSentence, healthPoints } from "./health";

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
