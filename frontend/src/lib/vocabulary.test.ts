import { describe, expect, it } from "vitest";
import { vocabularyFixture } from "../testing/fixtures";
import { ALERT_STATES, ANOMALY_CODES, DATA_QUALITY_FLAGS, DEFAULT_PROFILE, PROFILES, anomalyCountsText, vocabularyFrom } from "./vocabulary";

const vocabulary = vocabularyFrom(vocabularyFixture);

describe("vocabulary", () => {
  it("labels every code of the lists it labels, in the lists' order", () => {
    expect(Object.keys(vocabulary.anomaly)).toEqual([...ANOMALY_CODES]);
    expect(Object.keys(vocabulary.profile)).toEqual([...PROFILES]);
    expect(Object.keys(vocabulary.alertState)).toEqual([...ALERT_STATES]);
    expect(Object.keys(vocabulary.dataQualityFlag)).toEqual([...DATA_QUALITY_FLAGS]);
    expect(Object.keys(vocabulary.thresholds)).toEqual([...PROFILES]);
    expect(vocabularyFixture.default_profile).toBe(DEFAULT_PROFILE);
  });

  it("takes the compact labels and the flags' meanings from the API's answer", () => {
    expect(vocabulary.anomaly).toEqual({ voltage_imbalance: "Voltage imbalance", overheating: "Overheating", low_soh: "Low SoH" });
    expect(vocabulary.profile).toEqual({ nmc: "NMC", lfp: "LFP" });
    expect(vocabulary.dataQualityFlag.late_upload).toBe("received more than 24 h after its timestamp");
  });

  it("takes the report rules' thresholds from the API's answer", () => {
    expect(vocabulary.thresholds).toEqual({
      nmc: { imbalanceMv: 50, overheatC: 45 },
      lfp: { imbalanceMv: 30, overheatC: 45 },
    });
  });

  it("writes anomaly counts in the codes' order, a missing count as 0", () => {
    expect(anomalyCountsText(vocabulary.anomaly, { overheating: 4, voltage_imbalance: 2 })).toBe("Voltage imbalance 2, Overheating 4, Low SoH 0");
  });
});
