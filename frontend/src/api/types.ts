// The API's types, generated from the OpenAPI schema (src/api/schema.d.ts, `make frontend-schema`). Every
// answer the dashboard reads is typed there; the schema leaves open only what is narrowed at the end of this
// file, the one place for hand types.
import type { components, operations } from "./schema";

type Schemas = components["schemas"];
type QueryOf<Operation extends keyof operations> = NonNullable<operations[Operation]["parameters"]["query"]>;

export type Vehicle = Schemas["Vehicle"];
export type VehicleList = Schemas["VehicleList"];
export type SohBin = Schemas["SohBin"];
export type Report = Schemas["BatteryReportOutput"];
export type ReportResult = Schemas["BatteryReportResult"];
export type DiagnosticLog = Schemas["DiagnosticLogOutput"];
export type CellReading = Schemas["CellReading"];
export type Alert = Schemas["Alert"];
export type Webhook = Schemas["Webhook"];
export type Delivery = Schemas["Delivery"];
export type VehicleRegistry = Schemas["VehicleRegistryRequest"];
export type AnomalyTimeline = Schemas["AnomalyTimeline"];
export type TimelineBucket = Schemas["TimelineBucket"];
// API.md section 6: the health trend and forecast, and the cell ranking.
export type Health = Schemas["VehicleHealth"];
export type CellRanking = Schemas["CellRanking"];
export type CellRank = Schemas["CellRank"];
// GET /api/v1/vocabulary: the codes with their labels and the profiles' thresholds (src/lib/vocabulary.ts reads it).
export type VocabularyAnswer = Schemas["Vocabulary"];

// The vocabulary's codes, as the schema's enums name them (lists: src/lib/vocabulary.ts; labels: the API).
export type AnomalyCode = Schemas["AnomalyDetailCodeEnum"];
export type Profile = Schemas["BatteryProfileEnum"];
export type Severity = Schemas["SeverityEnum"];
export type AlertState = Schemas["StateEnum"];
export type ForecastStatus = Schemas["ForecastStatusEnum"];
export type CellLevel = Schemas["LevelEnum"];
export type CellReason = Schemas["ReasonsEnum"];
export type DataQualityFlag = Schemas["FlagsEnum"];
export type WebhookEvent = Schemas["WebhookEventEnum"];
export type DeliveryStatus = Schemas["DeliveryStatusEnum"];
/** The alert object calls its type a string (more types may come); the vocabulary names today's. */
export type AlertType = Schemas["AlertTypeEnum"];

// The list endpoints' query parameters.
export type VehicleFilters = QueryOf<"vehicles_list">;
export type VehicleOrdering = NonNullable<VehicleFilters["ordering"]>;
export type AlertFilters = QueryOf<"alerts_list">;
export type FleetWindow = NonNullable<QueryOf<"fleet_summary">["window"]>;

// Hand types: the fleet summary's two count maps are `{[key: string]: number}` in the schema; they are keyed
// by anomaly code and by severity (API.md, fleet summary); a missing key reads as 0.
export type FleetSummary = Omit<Schemas["FleetSummary"], "anomalies" | "open_alerts"> & {
  anomalies: Partial<Record<AnomalyCode, number>>;
  open_alerts: Partial<Record<Severity, number>>;
};
