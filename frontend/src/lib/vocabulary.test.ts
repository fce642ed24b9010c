import { describe, expect, it } from "vitest";
import { ALERT_STATES, ANOMALY_CODES, DATA_QUALITY_FLAGS, DEFAULT_PROFILE, PROFILES, VOCABULARY, anomalyCountsText } from "./vocabulary";

describe("vocabulary", () => {
  it("labels every code of the lists it labels, in the lists' order", () => {
    expect(Object.keys(VOCABULARY.anomaly)).toEqual([...ANOMALY_CODES]);
    expect(Object.keys(VOCABULARY.profile)).toEqual([...PROFILES]);
    expect(Object.keys(VOCABULARY.alertState)).toEqual([...ALERT_STATES]);
    expect(Object.keys(VOCABULARY.dataQualityFlag)).toEqual([...DATA_QUALITY_FLAGS]);
    expect(Object.keys(VOCABULARY.thresholds)).toEqual([...PROFILES]);
    expect(PROFILES).toContain(DEFAULT_PROFILE);
  });

  it("keeps the report rules' thresholds (analytics/domain/profiles.py)", () => {
    expect(VOCABULARY.thresholds).toEqual({
      nmc: { imbalanceMv: 50, overheatC: 45 },
      lfp: { imbalanceMv: 30, overheatC: 45 },
    });
  });

  it("writes anomaly counts in the codes' order, a missing count as 0", () => {
    expect(anomalyCountsText(VOCABULARY.anomaly, { overheating: 4, voltage_imbalance: 2 })).toBe("Voltage imbalance 2, Overheating 4, Low SoH 0");
  });
});
