// Answers of the API for the tests, typed by the schema.
import type { Health, VocabularyAnswer } from "../api/types";
import vocabularyJson from "./vocabulary.json";

/** A health answer with a trend and an "ok" forecast (3 logs, a jump at the second). */
export function healthFixture(overrides: Partial<Health["forecast"]> = {}): Health {
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

/** GET /api/v1/vocabulary's answer, written by `make frontend-schema` (manage.py vocabulary_json) and checked
 *  against the API by tests/api/test_vocabulary.py: the labels the component tests see are the API's. */
export const vocabularyFixture = vocabularyJson as VocabularyAnswer; // JSON widens the enums to string
