// The dashboard's vocabulary. Labels, descriptions and the profiles' thresholds come from the API
// (GET /api/v1/vocabulary, served from the backend's common/vocabulary.py): components read them through
// useVocabulary() (./vocabulary-query.ts, the query), never retyped here. The code lists that order tables and charts are the schema's enums,
// checked by tsc (a code the API adds or drops fails the build here, not on a page).
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
  VocabularyAnswer,
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

/** The profile a log is read against before its report says which (the vocabulary's default_profile). */
export const DEFAULT_PROFILE: Profile = "nmc";

/** The report-rule thresholds of a profile that the log page draws; the SoH threshold comes with each health
 *  answer (forecast.threshold_soh). */
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

/** `{code: value}` over a list of terms. */
function byCode<C extends string, T extends { code: C }, V>(terms: readonly T[], value: (term: T) => V): Record<C, V> {
  return Object.fromEntries(terms.map((term) => [term.code, value(term)])) as Record<C, V>;
}

/** The labels components show (the compact ones), the flags' meanings and the thresholds, from the API's answer. */
export function vocabularyFrom(answer: VocabularyAnswer): Vocabulary {
  return {
    anomaly: byCode(answer.anomalies, (term) => term.short),
    profile: byCode(answer.profiles, (term) => term.short),
    alertState: byCode(answer.alert_states, (term) => term.short),
    dataQualityFlag: byCode(answer.data_quality_flags, (term) => term.description),
    thresholds: byCode(answer.profiles, (term) => ({
      imbalanceMv: term.voltage_imbalance_threshold_mv,
      overheatC: term.overheat_threshold_c,
    })),
  };
}

/** "Voltage imbalance 3, Overheating 0, Low SoH 1": a count per anomaly code in the codes' order, missing ones 0. */
export function anomalyCountsText(labels: Vocabulary["anomaly"], counts: Partial<Record<AnomalyCode, number>>): string {
  return ANOMALY_CODES.map((code) => `${labels[code]} ${counts[code] ?? 0}`).join(", ");
}
