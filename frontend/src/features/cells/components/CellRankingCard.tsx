import { useState } from "react";
import { Link } from "react-router";
import type { CellRank } from "../../../api/types";
import { Card, Query } from "../../../components/Status";
import { DataTable, type Column } from "../../../components/table/DataTable";
import { formatDate, formatNumber } from "../../../lib/format";
import { useCellRanking } from "../api/get-cell-ranking";

/** How many of the ranked cells the card lists. */
const SHOWN = 12;

function columns(vehicleId: string): Column<CellRank>[] {
  return [
    { key: "cell", header: "Cell", cell: (cell) => <Link to={`/vehicles/${encodeURIComponent(vehicleId)}/cells/${cell.id}`}>#{cell.id}</Link> },
    { key: "level", header: "Level", cell: (cell) => <span className={`level level-${cell.level}`}>{cell.level}</span> },
    { key: "deviation", header: "Deviation mV", className: "num", cell: (cell) => formatNumber(cell.voltage_deviation_mv) },
    { key: "drift", header: "Drift mV/30 d", className: "num", cell: (cell) => formatNumber(cell.voltage_drift_mv_per_30d) },
    { key: "excess", header: "Excess °C", className: "num", cell: (cell) => formatNumber(cell.temperature_excess_c) },
    { key: "reasons", header: "Reasons", cell: (cell) => cell.reasons.join(", ") || "–" },
  ];
}

/** The cells furthest from the pack over the last 30, 90 or 365 days, each linking to its history. */
export function CellRankingCard({ vehicleId }: { vehicleId: string }) {
  const [windowDays, setWindowDays] = useState(30);
  const cells = useCellRanking(vehicleId, windowDays);
  return (
    <Card title="Cell ranking">
      <label className="inline">
        Window
        <select value={windowDays} onChange={(event) => setWindowDays(Number(event.target.value))}>
          <option value={30}>30 days</option>
          <option value={90}>90 days</option>
          <option value={365}>365 days</option>
        </select>
      </label>
      <Query query={cells} what="the cell ranking">
        {(data) => (
          <>
            <p className="caption">
              {data.window.logs} logs from {formatDate(data.window.since)} to {formatDate(data.window.until)}; the {SHOWN} cells furthest from the pack.
            </p>
            <DataTable testId="cell-ranking" columns={columns(vehicleId)} rows={data.cells.slice(0, SHOWN)} rowKey={(cell) => cell.id} />
          </>
        )}
      </Query>
    </Card>
  );
}
