// The dashboard's vocabulary in ONE module: the code lists, checked by tsc against the enums of the generated
// schema (a code the API adds or drops fails the build here, not on a page), their human labels, and the
// battery profiles' thresholds. Components read labels and thresholds through useVocabulary(), so that when
// the API serves them this module is the only one to change.
import type {
  AlertState,
  AlertType,
  AnomalyCode,
  CellLevel,
  CellReason,
  DataQualityFlag,
  ForecastStatus,
  Profile,
  Severity,
} from "../api/types";

export type { AlertState, AlertType, AnomalyCode, CellLevel, CellReason, DataQualityFlag, ForecastStatus, Profile, Severity };

/** Every value of a schema enum, in display order; tsc names the value missing from the list, or the unknown one. */
function allOf<T extends string>() {
  return <const L extends readonly T[]>(
    ...values: L & ([Exclude<T, L[number]>] extends [never] ? unknown : { missing: Exclude<T, L[number]> })
  ): readonly T[] => values;
}

export const ANOMALY_CODES = allOf<AnomalyCode>()("voltage_imbalance", "overheating", "low_soh");
export const PROFILES = allOf<Profile>()("nmc", "lfp");
export const SEVERITIES = allOf<Severity>()("warning", "critical");
export const ALERT_STATES = allOf<AlertState>()("open", "acknowledged", "resolved");
export const ALERT_TYPES = allOf<AlertType>()("voltage_imbalance", "overheating", "low_soh", "weak_cell", "soh_jump");
export const FORECAST_STATUSES = allOf<ForecastStatus>()("ok", "insufficient_data", "reached", "beyond_horizon");
export const CELL_LEVELS = allOf<CellLevel>()("alert", "warn", "ok");
export const CELL_REASONS = allOf<CellReason>()("low_voltage", "high_voltage", "voltage_drift", "hot");
export const DATA_QUALITY_FLAGS = allOf<DataQualityFlag>()(
  "late_upload",
  "capacity_above_nominal",
  "cell_out_of_profile_range",
  "suspect_sensor",
);

/** The profile a log is read against before its report says which (analytics/domain/profiles.py, DEFAULT_PROFILE). */
export const DEFAULT_PROFILE: Profile = "nmc";

/** The report-rule thresholds of a profile that the log page draws (analytics/domain/profiles.py); the SoH
 *  threshold comes with each health answer (forecast.threshold_soh). */
export interface ProfileThresholds {
  imbalanceMv: number; // a pack is imbalanced when max - min cell voltage is above this
  overheatC: number; // a cell overheats above this
}

export interface Vocabulary {
  anomaly: Record<AnomalyCode, string>;
  profile: Record<Profile, string>;
  alertState: Record<AlertState, string>;
  /** What a report's data-quality flag means. */
  dataQualityFlag: Record<DataQualityFlag, string>;
  thresholds: Record<Profile, ProfileThresholds>;
}

export const VOCABULARY: Vocabulary = {
  anomaly: {
    voltage_imbalance: "Voltage imbalance",
    overheating: "Overheating",
    low_soh: "Low SoH",
  },
  profile: { nmc: "NMC", lfp: "LFP" },
  alertState: { open: "Open", acknowledged: "Acknowledged", resolved: "Resolved" },
  dataQualityFlag: {
    late_upload: "received more than 24 h after its timestamp",
    capacity_above_nominal: "current capacity above the nominal capacity",
    cell_out_of_profile_range: "a cell outside the profile's voltage range",
    suspect_sensor: "one reading so far from the pack that a sensor fault is likelier",
  },
  thresholds: {
    nmc: { imbalanceMv: 50, overheatC: 45 },
    lfp: { imbalanceMv: 30, overheatC: 45 },
  },
};

/** The labels and thresholds for a component (static today; from the API once it serves them). */
export function useVocabulary(): Vocabulary {
  return VOCABULARY;
}

/** "Voltage imbalance 3, Overheating 0, Low SoH 1": a count per anomaly code in the codes' order, missing ones 0. */
export function anomalyCountsText(labels: Vocabulary["anomaly"], counts: Partial<Record<AnomalyCode, number>>): string {
  return ANOMALY_CODES.map((code) => `${labels[code]} ${counts[code] ?? 0}`).join(", ");
}
