import { Link } from "react-router";
import type { Report } from "../../../api/types";
import { Card, Query } from "../../../components/Status";
import { DataTable, type Column } from "../../../components/table/DataTable";
import { LoadMore } from "../../../components/table/LoadMore";
import { pagedRows } from "../../../lib/cursor";
import { formatDateTime, formatNumber } from "../../../lib/format";
import { useVehicleReports } from "../api/get-vehicle-reports";

const COLUMNS: Column<Report>[] = [
  { key: "time", header: "Log time", cell: (report) => <Link to={`/logs/${report.log_id}`}>{formatDateTime(report.timestamp)}</Link> },
  { key: "soh", header: "SoH %", className: "num", cell: (report) => formatNumber(report.battery_soh) },
  { key: "cycles", header: "Cycles", className: "num", cell: (report) => report.cycle_count },
  { key: "spread", header: "Spread mV", className: "num", cell: (report) => formatNumber(report.diagnostics.voltage_spread_mv) },
  { key: "max-temperature", header: "Max °C", className: "num", cell: (report) => formatNumber(report.diagnostics.temperature_max) },
  { key: "anomalies", header: "Anomalies", cell: (report) => report.anomaly_details.map((detail) => detail.code).join(", ") || "none" },
  { key: "quality", header: "Data quality", cell: (report) => report.data_quality.flags.join(", ") || "clean" },
];

/** A vehicle's reports, newest first, each linking to its log. */
export function ReportsCard({ vehicleId }: { vehicleId: string }) {
  const reports = useVehicleReports(vehicleId);
  return (
    <Card title="Reports">
      <Query query={reports} what="reports">
        {(data) => (
          <>
            <DataTable testId="reports-table" columns={COLUMNS} rows={pagedRows(data)} rowKey={(report) => report.log_id} />
            <LoadMore pages={reports} />
          </>
        )}
      </Query>
    </Card>
  );
}
