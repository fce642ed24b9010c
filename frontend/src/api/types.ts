// The API's types, generated from the OpenAPI schema (src/api/schema.d.ts, `make frontend-schema`).
import type { components } from "./schema";

type Schemas = components["schemas"];
export type Vehicle = Schemas["Vehicle"];
export type VehicleList = Schemas["VehicleList"];
export type FleetSummary = Schemas["FleetSummary"];
export type SohBin = Schemas["SohBin"];
export type Report = Schemas["BatteryReportOutput"];
export type ReportResult = Schemas["BatteryReportResult"];
export type DiagnosticLog = Schemas["DiagnosticLogOutput"];
export type CellReading = Schemas["CellReading"];
export type Alert = Schemas["Alert"];
export type Webhook = Schemas["Webhook"];
export type Delivery = Schemas["Delivery"];
export type Profile = Schemas["BatteryProfileEnum"];
export type VehicleRegistry = Schemas["VehicleRegistryRequest"];
export type AnomalyTimeline = Schemas["AnomalyTimeline"];
export type TimelineBucket = Schemas["TimelineBucket"];

// The schema describes these two answers only as "object" (analytics/apis.py declares OpenApiTypes.OBJECT),
// so their shape is written here from API.md section 6. Everything else comes from the generated schema.
export interface Estimate<T> {
  estimate: T | null;
  low: T | null;
  high: T | null;
}

export interface Health {
  vehicle_id: string;
  profile: Profile;
  logs_used: number;
  soh_latest: number | null;
  fade: { percent_per_1000_cycles: number | null; percent_per_year: number | null };
  forecast: {
    status: "ok" | "insufficient_data" | "reached" | "beyond_horizon";
    threshold_soh: number;
    interval: number;
    cycle_count: Estimate<number>;
    date: Estimate<string>;
    method: string;
    version: string;
  };
  jumps: { log_id: string; timestamp: string; soh_before: number; soh_after: number; delta: number }[];
  series: { log_id: string; timestamp: string; cycle_count: number; battery_soh: number; fitted: number | null }[];
}

export interface CellRank {
  id: number;
  voltage_deviation_mv: number;
  voltage_drift_mv_per_30d: number | null;
  temperature_excess_c: number;
  level: "ok" | "warn" | "alert";
  reasons: string[];
}

export interface CellRanking {
  vehicle_id: string;
  window: { since: string | null; until: string | null; logs: number };
  cells: CellRank[];
}
