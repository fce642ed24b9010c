import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AnomalyTimeline } from "../../../api/types";
import { ANOMALY_COLORS } from "../../../components/colors";
import { renderWithClient, stubApi } from "../../../testing/render";
import { AnomalyTimelineCard } from "./AnomalyTimelineCard";

const TIMELINE: AnomalyTimeline = {
  days: 2,
  buckets: [
    { date: "2026-11-27", reports: 10, anomalies: { voltage_imbalance: 2, overheating: 1, low_soh: 0 } },
    { date: "2026-11-28", reports: 5, anomalies: { voltage_imbalance: 0, overheating: 3, low_soh: 0 } },
  ],
};

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("AnomalyTimelineCard", () => {
  it("stacks one series per anomaly code, named by the vocabulary, and totals them", async () => {
    const asked = stubApi(() => ({ body: TIMELINE }));
    renderWithClient(<AnomalyTimelineCard />);
    expect(screen.getByRole("status").textContent).toBe("Loading the anomaly timeline…");
    await waitFor(() => expect(screen.getByTestId("timeline-totals").textContent).toBe("Last 2 days (UTC): 15 reports; Voltage imbalance 2, Overheating 4, Low SoH 0."));
    expect(asked[0]?.search).toBe("?days=30");
    const chart = screen.getByTestId("anomaly-timeline");
    // (recharts orders a stack's legend its own way)
    expect([...chart.querySelectorAll(".legend-text")].map((item) => item.textContent).sort()).toEqual(["Low SoH", "Overheating", "Voltage imbalance"]);
    // A bar per non-zero count: voltage imbalance on the 27th, overheating on both days.
    const bars = (code: keyof typeof ANOMALY_COLORS) => chart.querySelectorAll(`.recharts-bar-rectangle path[fill="${ANOMALY_COLORS[code]}"]`).length;
    expect([bars("voltage_imbalance"), bars("overheating"), bars("low_soh")]).toEqual([1, 2, 0]);
    expect([...chart.querySelectorAll(".recharts-xAxis-tick-labels .recharts-cartesian-axis-tick-value")].map((tick) => tick.textContent)).toEqual([
      "2026-11-27",
      "2026-11-28",
    ]);
  });

  it("asks for a longer period when chosen", async () => {
    const asked = stubApi((url) => ({ body: { ...TIMELINE, days: Number(url.searchParams.get("days")) } }));
    renderWithClient(<AnomalyTimelineCard />);
    await waitFor(() => expect(screen.getByTestId("timeline-totals").textContent).toMatch(/^Last 30 days/));
    await userEvent.setup().selectOptions(screen.getByLabelText("Days"), "365");
    await waitFor(() => expect(screen.getByTestId("timeline-totals").textContent).toMatch(/^Last 365 days/));
    expect(asked.map((url) => url.search)).toEqual(["?days=30", "?days=365"]);
  });
});
