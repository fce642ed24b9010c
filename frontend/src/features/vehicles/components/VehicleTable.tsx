import { useState } from "react";
import { Link } from "react-router";
import type { AnomalyCode, Profile, Vehicle, VehicleFilters } from "../../../api/types";
import { Query } from "../../../components/Status";
import { DataTable, type Column } from "../../../components/table/DataTable";
import { LoadMore } from "../../../components/table/LoadMore";
import type { Ordering } from "../../../components/table/ordering";
import { pagedRows } from "../../../lib/cursor";
import { formatDate, formatNumber } from "../../../lib/format";
import { ANOMALY_CODES, PROFILES } from "../../../lib/vocabulary";
import { useVocabulary } from "../../../lib/vocabulary-query";
import { useVehicles } from "../api/get-vehicles";

type SortKey = "vehicle_id" | "latest_soh" | "last_seen";

const COLUMNS: Column<Vehicle, SortKey>[] = [
  {
    key: "vehicle",
    header: "Vehicle",
    sortKey: "vehicle_id",
    cell: (vehicle) => <Link to={`/vehicles/${encodeURIComponent(vehicle.vehicle_id)}`}>{vehicle.vehicle_id}</Link>,
  },
  { key: "soh", header: "Latest SoH %", sortKey: "latest_soh", className: "num", cell: (vehicle) => formatNumber(vehicle.latest?.battery_soh) },
  { key: "last-seen", header: "Last seen", sortKey: "last_seen", cell: (vehicle) => formatDate(vehicle.last_seen) },
  { key: "profile", header: "Profile", cell: (vehicle) => vehicle.profile },
  { key: "cycles", header: "Cycles", className: "num", cell: (vehicle) => vehicle.latest?.cycle_count ?? "–" },
  { key: "anomalies", header: "Anomalies", cell: (vehicle) => vehicle.latest?.anomalies.join(", ") || "none" },
  { key: "logs", header: "Logs", className: "num", cell: (vehicle) => vehicle.log_count },
];

/** The fleet's vehicles: sortable by the API's orderings, filtered by profile, anomaly and SoH, paged by the
 *  API's cursor. */
export function VehicleTable() {
  const labels = useVocabulary();
  const [ordering, setOrdering] = useState<Ordering<SortKey>>("vehicle_id");
  const [profile, setProfile] = useState<"" | Profile>("");
  const [anomaly, setAnomaly] = useState<"" | AnomalyCode>("");
  const [sohLt, setSohLt] = useState("");
  const [sohGte, setSohGte] = useState("");
  const filters: VehicleFilters = {
    ordering,
    limit: 50,
    ...(profile ? { profile } : {}),
    ...(anomaly ? { anomaly } : {}),
    ...(sohLt ? { soh_lt: Number(sohLt) } : {}),
    ...(sohGte ? { soh_gte: Number(sohGte) } : {}),
  };
  const vehicles = useVehicles(filters);

  return (
    <section className="card" aria-labelledby="vehicles-heading">
      <h2 id="vehicles-heading">Vehicles</h2>
      <form className="filters" onSubmit={(event) => event.preventDefault()} aria-label="Vehicle filters">
        <label>
          Profile
          <select value={profile} onChange={(event) => setProfile(event.target.value as typeof profile)}>
            <option value="">any</option>
            {PROFILES.map((value) => (
              <option key={value} value={value}>
                {labels.profile[value]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Anomaly in latest report
          <select value={anomaly} onChange={(event) => setAnomaly(event.target.value as typeof anomaly)}>
            <option value="">any</option>
            {ANOMALY_CODES.map((code) => (
              <option key={code} value={code}>
                {labels.anomaly[code]}
              </option>
            ))}
          </select>
        </label>
        <label>
          SoH at least
          <input type="number" min={0} max={100} step="any" value={sohGte} onChange={(event) => setSohGte(event.target.value)} />
        </label>
        <label>
          SoH below
          <input type="number" min={0} max={100} step="any" value={sohLt} onChange={(event) => setSohLt(event.target.value)} />
        </label>
      </form>
      <Query query={vehicles} what="vehicles">
        {(data) => {
          const rows = pagedRows(data);
          return (
            <>
              <DataTable
                testId="vehicles-table"
                columns={COLUMNS}
                rows={rows}
                rowKey={(vehicle) => vehicle.vehicle_id}
                empty="No vehicles match."
                sorting={{ ordering, onSort: setOrdering }}
              />
              <p className="table-foot">
                <span data-testid="vehicles-shown">{rows.length}</span> shown
                <LoadMore pages={vehicles} />
              </p>
            </>
          );
        }}
      </Query>
    </section>
  );
}
