import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { healthFixture } from "../../testing/fixtures";
import { COLORS } from "../colors";
import { HealthChart } from "./HealthChart";

// What recharts draws for the fixture: 3 readings (the second after a jump), a fitted trend on the last two,
// and, when the forecast is "ok", a dashed line and an interval band from the last fitted point to 80 %.

function symbols(chart: HTMLElement, fill: string): Element[] {
  return [...chart.querySelectorAll(`.recharts-scatter path.recharts-symbols[fill="${fill}"]`)];
}

function curve(chart: HTMLElement, stroke: string): string | null {
  return chart.querySelector(`path.recharts-line-curve[stroke="${stroke}"]`)?.getAttribute("d") ?? null;
}

function texts(chart: HTMLElement, selector: string): string[] {
  return [...chart.querySelectorAll(selector)].map((element) => element.textContent ?? "");
}

function legend(chart: HTMLElement): string[] {
  return [...chart.querySelectorAll(".recharts-legend-item-text")].map((item) => item.textContent ?? "").sort();
}

describe("HealthChart", () => {
  it("draws the readings, the jump, the trend and the forecast with its band over time", () => {
    render(<HealthChart health={healthFixture()} axis="time" />);
    const chart = screen.getByTestId("health-chart-time");
    expect(legend(chart)).toEqual(["80 % interval", "Forecast", "Jump", "SoH", "Trend"]);
    const readings = symbols(chart, COLORS.blue);
    expect(readings).toHaveLength(3);
    // The jump is marked on the reading that follows it (the second), at the same place.
    const jumps = symbols(chart, COLORS.purple);
    expect(jumps).toHaveLength(1);
    expect(jumps[0]?.getAttribute("cx")).toBe(readings[1]?.getAttribute("cx"));
    expect(jumps[0]?.getAttribute("cy")).toBe(readings[1]?.getAttribute("cy"));
    expect(curve(chart, COLORS.green)).toMatch(/^M[\d.]+,[\d.]+L/);
    expect(curve(chart, COLORS.vermillion)).toMatch(/^M[\d.]+,[\d.]+L/);
    expect(chart.querySelector(".recharts-area-area")?.getAttribute("d")).toMatch(/^M/);
    // The threshold line is labelled with the forecast's threshold; the time axis has no title.
    expect(chart.querySelectorAll(".recharts-reference-line")).toHaveLength(1);
    expect(texts(chart, ".recharts-label")).toEqual(["80 %"]);
    // Five years on the axis: months, from the first reading to the end of the interval (2031-01-01).
    const ticks = texts(chart, ".recharts-xAxis-tick-labels .recharts-cartesian-axis-tick-value");
    expect(ticks.length).toBeGreaterThan(1);
    expect(ticks.every((tick) => /^\d{4}-\d{2}$/.test(tick))).toBe(true);
    expect(ticks[0]).toBe("2026-01");
  });

  it("draws no forecast and no band without one, over cycles", () => {
    render(<HealthChart health={healthFixture({ status: "insufficient_data", interval: 0.9 })} axis="cycles" />);
    const chart = screen.getByTestId("health-chart-cycles");
    expect(legend(chart)).toEqual(["90 % interval", "Forecast", "Jump", "SoH", "Trend"]);
    expect(symbols(chart, COLORS.blue)).toHaveLength(3);
    expect(curve(chart, COLORS.green)).toMatch(/^M[\d.]+,[\d.]+L/);
    expect(curve(chart, COLORS.vermillion) ?? "").toBe("");
    expect(chart.querySelector(".recharts-area-area")?.getAttribute("d") ?? "").toBe("");
  });

  it("titles the cycles axis and spans it from the first reading to the interval's end", () => {
    render(<HealthChart health={healthFixture()} axis="cycles" />);
    const chart = screen.getByTestId("health-chart-cycles");
    expect(texts(chart, ".recharts-label")).toEqual(["cycles", "80 %"]);
    const ticks = texts(chart, ".recharts-xAxis-tick-labels .recharts-cartesian-axis-tick-value");
    expect([ticks[0], ticks.at(-1)]).toEqual(["100", "2500"]);
    // The y axis ends at 100 % and starts below the threshold.
    const yTicks = texts(chart, ".recharts-yAxis-tick-labels .recharts-cartesian-axis-tick-value");
    expect(yTicks.at(-1)).toBe("100%");
    expect(Number.parseFloat(yTicks[0] ?? "")).toBeLessThan(80);
  });
});
