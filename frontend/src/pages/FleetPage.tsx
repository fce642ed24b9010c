import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api, unwrap } from "../api/client";
import type { Vehicle } from "../api/types";
import { Card, ErrorMessage, Loading, Query } from "../components/Status";
import { ANOMALY_COLORS, COLORS, SEVERITY_COLORS } from "../components/colors";
import {
  ANOMALY_CODES,
  ANOMALY_LABELS,
  cursorOf,
  formatDate,
  formatNumber,
  sohHistogramRows,
  timelineRows,
  timelineTotals,
} from "../lib/shape";

type Window = "24h" | "7d" | "30d";
type Ordering = "vehicle_id" | "-vehicle_id" | "latest_soh" | "-latest_soh" | "last_seen" | "-last_seen";
type Anomaly = (typeof ANOMALY_CODES)[number];

export function FleetPage() {
  // The API's default window; 30 days costs the summary a wider scan.
  const [window, setWindow] = useState<Window>("24h");
  const summary = useQuery({
    queryKey: ["fleet-summary", window],
    queryFn: async () => unwrap(await api.GET("/api/v1/fleet/summary", { params: { query: { window } } })),
  });
  return (
    <>
      <div className="page-head">
        <h1>Fleet overview</h1>
        <label className="inline">
          Window
          <select value={window} onChange={(event) => setWindow(event.target.value as Window)}>
            <option value="24h">24 hours</option>
            <option value="7d">7 days</option>
            <option value="30d">30 days</option>
          </select>
        </label>
      </div>
      <Query query={summary} what="the fleet summary">
        {(data) => (
          <>
            <div className="tiles">
              <Tile label="Vehicles" value={data.vehicles} testId="tile-vehicles" />
              <Tile label={`Reporting (${window})`} value={data.reporting} testId="tile-reporting" />
              <Tile label="Open warnings" value={data.open_alerts.warning ?? 0} testId="tile-open-warning" />
              <Tile label="Open critical" value={data.open_alerts.critical ?? 0} testId="tile-open-critical" />
            </div>
            <div className="grid">
              <Card title="State of health distribution">
                <div className="chart" data-testid="soh-histogram">
                  <ResponsiveContainer width="100%" height={240} initialDimension={{ width: 480, height: 240 }}>
                    <BarChart data={sohHistogramRows(data.soh_histogram)} margin={{ left: 0, right: 8 }}>
                      <CartesianGrid strokeDasharray="3 3" vertical={false} />
                      <XAxis dataKey="label" tick={{ fontSize: 11 }} label={{ value: "SoH %", position: "insideBottom", offset: -2 }} height={40} />
                      <YAxis allowDecimals={false} width={48} />
                      <Tooltip />
                      <Bar dataKey="count" name="Vehicles" fill={COLORS.blue} isAnimationActive={false} />
                    </BarChart>
                  </ResponsiveContainer>
                </div>
                <p className="caption">Vehicles by the SoH of their latest report, 5-point bins.</p>
              </Card>
              <Card title="Open alerts by severity">
                <div className="chart" data-testid="alerts-by-severity">
                  <ResponsiveContainer width="100%" height={240} initialDimension={{ width: 480, height: 240 }}>
                    <BarChart
                      data={[
                        { severity: "warning", count: data.open_alerts.warning ?? 0 },
                        { severity: "critical", count: data.open_alerts.critical ?? 0 },
                      ]}
                      layout="vertical"
                      margin={{ left: 16, right: 16 }}
                    >
                      <CartesianGrid strokeDasharray="3 3" horizontal={false} />
                      <XAxis type="number" allowDecimals={false} />
                      <YAxis type="category" dataKey="severity" width={70} />
                      <Tooltip />
                      <Bar dataKey="count" name="Open alerts" isAnimationActive={false} fill={SEVERITY_COLORS.warning} />
                    </BarChart>
                  </ResponsiveContainer>
                </div>
                <p className="caption">
                  <Link to="/alerts">All alerts</Link> · anomalies in reports of the last {window}:{" "}
                  {ANOMALY_CODES.map((code) => `${ANOMALY_LABELS[code]} ${data.anomalies[code] ?? 0}`).join(", ")}
                </p>
              </Card>
              <Card title="Worst vehicles">
                <ol className="worst" data-testid="worst-vehicles">
                  {data.worst.map((vehicle) => (
                    <li key={vehicle.vehicle_id}>
                      <Link to={`/vehicles/${encodeURIComponent(vehicle.vehicle_id)}`}>{vehicle.vehicle_id}</Link>
                      <span className="soh">{formatNumber(vehicle.latest?.battery_soh)} %</span>
                    </li>
                  ))}
                  {data.worst.length === 0 && <li>No reports yet.</li>}
                </ol>
              </Card>
            </div>
          </>
        )}
      </Query>
      {/* Outside the summary's Query, so that its request starts with the others, not after the summary. */}
      <div className="grid">
        <AnomalyTimelineCard />
      </div>
      <VehicleTable />
    </>
  );
}

function Tile({ label, value, testId }: { label: string; value: number; testId: string }) {
  return (
    <div className="tile">
      <span className="tile-value" data-testid={testId}>
        {value.toLocaleString("en")}
      </span>
      <span className="tile-label">{label}</span>
    </div>
  );
}

function AnomalyTimelineCard() {
  const [days, setDays] = useState(30);
  const timeline = useQuery({
    queryKey: ["anomaly-timeline", days],
    queryFn: async () => unwrap(await api.GET("/api/v1/fleet/anomaly-timeline", { params: { query: { days } } })),
  });
  return (
    <Card title="Anomalies over time" className="wide">
      <label className="inline">
        Days
        <select value={days} onChange={(event) => setDays(Number(event.target.value))}>
          <option value={30}>30</option>
          <option value={90}>90</option>
          <option value={365}>365</option>
        </select>
      </label>
      <Query query={timeline} what="the anomaly timeline">
        {(data) => {
          const rows = timelineRows(data);
          const totals = timelineTotals(rows);
          return (
            <>
              <div className="chart" data-testid="anomaly-timeline">
                <ResponsiveContainer width="100%" height={240} initialDimension={{ width: 480, height: 240 }}>
                  <BarChart data={rows} margin={{ left: 0, right: 8 }}>
                    <CartesianGrid strokeDasharray="3 3" vertical={false} />
                    <XAxis dataKey="date" tick={{ fontSize: 11 }} minTickGap={24} />
                    <YAxis allowDecimals={false} width={48} />
                    <Tooltip />
                    <Legend formatter={(value: string) => <span className="legend-text">{value}</span>} />
                    {ANOMALY_CODES.map((code) => (
                      <Bar
                        key={code}
                        dataKey={code}
                        name={ANOMALY_LABELS[code]}
                        stackId="a"
                        fill={ANOMALY_COLORS[code]}
                        isAnimationActive={false}
                      />
                    ))}
                  </BarChart>
                </ResponsiveContainer>
              </div>
              <p className="caption" data-testid="timeline-totals">
                Last {data.days} days (UTC): {totals.reports} reports; {ANOMALY_CODES.map((code) => `${ANOMALY_LABELS[code]} ${totals[code]}`).join(", ")}.
              </p>
            </>
          );
        }}
      </Query>
    </Card>
  );
}

const SORTABLE: { key: "vehicle_id" | "latest_soh" | "last_seen"; label: string }[] = [
  { key: "vehicle_id", label: "Vehicle" },
  { key: "latest_soh", label: "Latest SoH %" },
  { key: "last_seen", label: "Last seen" },
];

function VehicleTable() {
  const [ordering, setOrdering] = useState<Ordering>("vehicle_id");
  const [profile, setProfile] = useState<"" | "nmc" | "lfp">("");
  const [anomaly, setAnomaly] = useState<"" | Anomaly>("");
  const [sohLt, setSohLt] = useState("");
  const [sohGte, setSohGte] = useState("");
  const filters = {
    ordering,
    limit: 50,
    ...(profile ? { profile } : {}),
    ...(anomaly ? { anomaly } : {}),
    ...(sohLt ? { soh_lt: Number(sohLt) } : {}),
    ...(sohGte ? { soh_gte: Number(sohGte) } : {}),
  };
  const vehicles = useInfiniteQuery({
    queryKey: ["vehicles", filters],
    initialPageParam: null as string | null,
    queryFn: async ({ pageParam }) =>
      unwrap(await api.GET("/api/v1/vehicles", { params: { query: { ...filters, ...(pageParam ? { cursor: pageParam } : {}) } } })),
    getNextPageParam: (page) => cursorOf(page.next),
  });
  const rows: Vehicle[] = vehicles.data?.pages.flatMap((page) => page.results) ?? [];

  function sortBy(key: (typeof SORTABLE)[number]["key"]) {
    setOrdering(ordering === key ? (`-${key}` as Ordering) : key);
  }

  return (
    <section className="card" aria-labelledby="vehicles-heading">
      <h2 id="vehicles-heading">Vehicles</h2>
      <form className="filters" onSubmit={(event) => event.preventDefault()} aria-label="Vehicle filters">
        <label>
          Profile
          <select value={profile} onChange={(event) => setProfile(event.target.value as typeof profile)}>
            <option value="">any</option>
            <option value="nmc">NMC</option>
            <option value="lfp">LFP</option>
          </select>
        </label>
        <label>
          Anomaly in latest report
          <select value={anomaly} onChange={(event) => setAnomaly(event.target.value as typeof anomaly)}>
            <option value="">any</option>
            {ANOMALY_CODES.map((code) => (
              <option key={code} value={code}>
                {ANOMALY_LABELS[code]}
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
      {vehicles.isPending ? (
        <Loading what="vehicles" />
      ) : vehicles.error ? (
        <ErrorMessage error={vehicles.error} what="vehicles" />
      ) : (
        <>
          <div className="table-wrap">
            <table data-testid="vehicles-table">
              <thead>
                <tr>
                  {SORTABLE.map((column) => (
                    <th
                      key={column.key}
                      scope="col"
                      aria-sort={ordering === column.key ? "ascending" : ordering === `-${column.key}` ? "descending" : "none"}
                    >
                      <button type="button" className="sort" onClick={() => sortBy(column.key)}>
                        {column.label}
                        <span aria-hidden="true">{ordering === column.key ? " ▲" : ordering === `-${column.key}` ? " ▼" : ""}</span>
                      </button>
                    </th>
                  ))}
                  <th scope="col">Profile</th>
                  <th scope="col">Cycles</th>
                  <th scope="col">Anomalies</th>
                  <th scope="col">Logs</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((vehicle) => (
                  <tr key={vehicle.vehicle_id}>
                    <td>
                      <Link to={`/vehicles/${encodeURIComponent(vehicle.vehicle_id)}`}>{vehicle.vehicle_id}</Link>
                    </td>
                    <td className="num">{formatNumber(vehicle.latest?.battery_soh)}</td>
                    <td>{formatDate(vehicle.last_seen)}</td>
                    <td>{vehicle.profile}</td>
                    <td className="num">{vehicle.latest?.cycle_count ?? "–"}</td>
                    <td>{vehicle.latest?.anomalies.join(", ") || "none"}</td>
                    <td className="num">{vehicle.log_count}</td>
                  </tr>
                ))}
                {rows.length === 0 && (
                  <tr>
                    <td colSpan={7}>No vehicles match.</td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          <p className="table-foot">
            <span data-testid="vehicles-shown">{rows.length}</span> shown
            {vehicles.hasNextPage && (
              <button type="button" onClick={() => void vehicles.fetchNextPage()} disabled={vehicles.isFetchingNextPage}>
                {vehicles.isFetchingNextPage ? "Loading…" : "Load more"}
              </button>
            )}
          </p>
        </>
      )}
    </section>
  );
}
