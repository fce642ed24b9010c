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

// API.md section 6: the health trend and forecast, and the cell ranking (analytics/serializers.py).
export type Health = Schemas["VehicleHealth"];
export type CellRanking = Schemas["CellRanking"];
export type CellRank = Schemas["CellRank"];
