import { describe, expect, it } from "vitest";
import { healthFixture as health } from "../../../testing/fixtures";
import { anomalyCounts, confidenceText } from "./certificate";

describe("anomalyCounts", () => {
  it("counts reports with any anomaly and each code", () => {
    const reports = [
      { anomaly_details: [{ code: "overheating" as const }, { code: "low_soh" as const }] },
      { anomaly_details: [] },
      { anomaly_details: [{ code: "overheating" as const }] },
    ];
    expect(anomalyCounts(reports)).toEqual({ reportsWithAnomalies: 2, byCode: { overheating: 2, low_soh: 1 } });
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
