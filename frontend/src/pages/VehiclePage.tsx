import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { api, getJson, unwrap } from "../api/client";
import type { CellRanking, Health, Vehicle, VehicleRegistry } from "../api/types";
import { HealthChart } from "../components/HealthChart";
import { Card, ErrorMessage, Loading, Query } from "../components/Status";
import { AlertTable } from "./AlertsPage";
import { cursorOf, formatDate, formatDateTime, formatNumber , forecastSentence } from "../lib/shape";

export function VehiclePage() {
  const vehicleId = useParams().vehicleId ?? "";
  const path = { vehicle_id: vehicleId };
  const vehicle = useQuery({
    queryKey: ["vehicle", vehicleId],
    queryFn: async () => unwrap(await api.GET("/api/v1/vehicles/{vehicle_id}", { params: { path } })),
  });
  const health = useQuery({
    queryKey: ["health", vehicleId],
    queryFn: () => getJson<Health>(`/api/v1/vehicles/${encodeURIComponent(vehicleId)}/health`),
  });
  return (
    <>
      <div className="page-head">
        <h1>
          Vehicle <span data-testid="vehicle-id">{vehicleId}</span>
        </h1>
        <Link className="button" to={`/vehicles/${encodeURIComponent(vehicleId)}/certificate`}>
          Health certificate
        </Link>
      </div>
      <Query query={vehicle} what="the vehicle">
        {(data) => <Registry vehicle={data} />}
      </Query>
      <Query query={health} what="the health trend">
        {(data) => (
          <div className="grid">
            <Card title="State of health">
              <dl className="facts">
                <dt>Latest SoH</dt>
                <dd data-testid="soh-latest">{formatNumber(data.soh_latest)} %</dd>
                <dt>Fade</dt>
                <dd>
                  {formatNumber(data.fade.percent_per_1000_cycles, 2)} % per 1,000 cycles, {formatNumber(data.fade.percent_per_year, 2)} % per year
                </dd>
                <dt>Forecast</dt>
                <dd data-testid="forecast">{forecastSentence(data)}</dd>
                <dt>Jumps</dt>
                <dd>{data.jumps.length === 0 ? "none" : data.jumps.map((jump) => `${formatDate(jump.timestamp)} (${jump.delta > 0 ? "+" : ""}${formatNumber(jump.delta)} points)`).join(", ")}</dd>
                <dt>Method</dt>
                <dd>
                  {data.forecast.method} {data.forecast.version}, {data.logs_used} logs
                </dd>
              </dl>
            </Card>
            <Card title="SoH over time">
              <HealthChart health={data} axis="time" />
            </Card>
            <Card title="SoH over cycles">
              <HealthChart health={data} axis="cycles" />
            </Card>
            <CellRankingCard vehicleId={vehicleId} />
          </div>
        )}
      </Query>
      <ReportsCard vehicleId={vehicleId} />
      <Card title="Alerts">
        <AlertTable filters={{ vehicle_id: vehicleId }} />
      </Card>
    </>
  );
}

function Registry({ vehicle }: { vehicle: Vehicle }) {
  const queryClient = useQueryClient();
  const [message, setMessage] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: async (body: VehicleRegistry) =>
      unwrap(await api.PUT("/api/v1/vehicles/{vehicle_id}", { params: { path: { vehicle_id: vehicle.vehicle_id } }, body })),
    onSuccess: (saved) => {
      queryClient.setQueryData(["vehicle", vehicle.vehicle_id], saved);
      void queryClient.invalidateQueries({ queryKey: ["vehicles"] });
      void queryClient.invalidateQueries({ queryKey: ["health", vehicle.vehicle_id] });
      setMessage("Saved.");
    },
    onError: () => setMessage(null),
  });

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => {
      const value = String(form.get(name) ?? "").trim();
      return value === "" ? null : value;
    };
    save.mutate({
      vin: text("vin"),
      model: text("model"),
      manufacture_date: text("manufacture_date"),
      profile: String(form.get("profile")) as Vehicle["profile"],
    });
  }

  return (
    <Card title="Registry">
      <p className="caption">
        First seen {formatDateTime(vehicle.first_seen)}, last seen {formatDateTime(vehicle.last_seen)}, {vehicle.log_count} logs.
      </p>
      <form className="registry" onSubmit={submit} key={JSON.stringify(vehicle)}>
        <label>
          VIN
          <input name="vin" defaultValue={vehicle.vin ?? ""} maxLength={17} pattern="[A-HJ-NPR-Z0-9]{17}" title="17 characters, A–Z and 0–9 without I, O, Q" />
        </label>
        <label>
          Model
          <input name="model" defaultValue={vehicle.model ?? ""} />
        </label>
        <label>
          Manufactured
          <input name="manufacture_date" type="date" defaultValue={vehicle.manufacture_date ?? ""} />
        </label>
        <label>
          Profile
          <select name="profile" defaultValue={vehicle.profile}>
            <option value="nmc">NMC</option>
            <option value="lfp">LFP</option>
          </select>
        </label>
        <button type="submit" disabled={save.isPending}>
          {save.isPending ? "Saving…" : "Save"}
        </button>
        {message && (
          <span className="ok" role="status">
            {message}
          </span>
        )}
        {save.error && <ErrorMessage error={save.error} what="the change" />}
      </form>
    </Card>
  );
}

function CellRankingCard({ vehicleId }: { vehicleId: string }) {
  const [windowDays, setWindowDays] = useState(30);
  const cells = useQuery({
    queryKey: ["cells", vehicleId, windowDays],
    queryFn: () => getJson<CellRanking>(`/api/v1/vehicles/${encodeURIComponent(vehicleId)}/cells?window_days=${windowDays}`),
  });
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
              {data.window.logs} logs from {formatDate(data.window.since)} to {formatDate(data.window.until)}; the 12 cells furthest from the pack.
            </p>
            <div className="table-wrap">
              <table data-testid="cell-ranking">
                <thead>
                  <tr>
                    <th scope="col">Cell</th>
                    <th scope="col">Level</th>
                    <th scope="col">Deviation mV</th>
                    <th scope="col">Drift mV/30 d</th>
                    <th scope="col">Excess °C</th>
                    <th scope="col">Reasons</th>
                  </tr>
                </thead>
                <tbody>
                  {data.cells.slice(0, 12).map((cell) => (
                    <tr key={cell.id}>
                      <td>
                        <Link to={`/vehicles/${encodeURIComponent(vehicleId)}/cells/${cell.id}`}>#{cell.id}</Link>
                      </td>
                      <td>
                        <span className={`level level-${cell.level}`}>{cell.level}</span>
                      </td>
                      <td className="num">{formatNumber(cell.voltage_deviation_mv)}</td>
                      <td className="num">{formatNumber(cell.voltage_drift_mv_per_30d)}</td>
                      <td className="num">{formatNumber(cell.temperature_excess_c)}</td>
                      <td>{cell.reasons.join(", ") || "–"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
      </Query>
    </Card>
  );
}

function ReportsCard({ vehicleId }: { vehicleId: string }) {
  const reports = useInfiniteQuery({
    queryKey: ["vehicle-reports", vehicleId],
    initialPageParam: null as string | null,
    queryFn: async ({ pageParam }) =>
      unwrap(
        await api.GET("/api/v1/vehicles/{vehicle_id}/reports", {
          params: { path: { vehicle_id: vehicleId }, query: { limit: 20, ...(pageParam ? { cursor: pageParam } : {}) } },
        }),
      ),
    getNextPageParam: (page) => cursorOf(page.next),
  });
  const rows = reports.data?.pages.flatMap((page) => page.results) ?? [];
  return (
    <Card title="Reports">
      {reports.isPending ? (
        <Loading what="reports" />
      ) : reports.error ? (
        <ErrorMessage error={reports.error} what="reports" />
      ) : (
        <>
          <div className="table-wrap">
            <table data-testid="reports-table">
              <thead>
                <tr>
                  <th scope="col">Log time</th>
                  <th scope="col">SoH %</th>
                  <th scope="col">Cycles</th>
                  <th scope="col">Spread mV</th>
                  <th scope="col">Max °C</th>
                  <th scope="col">Anomalies</th>
                  <th scope="col">Data quality</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((report) => (
                  <tr key={report.log_id}>
                    <td>
                      <Link to={`/logs/${report.log_id}`}>{formatDateTime(report.timestamp)}</Link>
                    </td>
                    <td className="num">{formatNumber(report.battery_soh)}</td>
                    <td className="num">{report.cycle_count}</td>
                    <td className="num">{formatNumber(report.diagnostics.voltage_spread_mv)}</td>
                    <td className="num">{formatNumber(report.diagnostics.temperature_max)}</td>
                    <td>{report.anomaly_details.map((detail) => detail.code).join(", ") || "none"}</td>
                    <td>{report.data_quality.flags.join(", ") || "clean"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {reports.hasNextPage && (
            <button type="button" onClick={() => void reports.fetchNextPage()} disabled={reports.isFetchingNextPage}>
              {reports.isFetchingNextPage ? "Loading…" : "Load more"}
            </button>
          )}
        </>
      )}
    </Card>
  );
}
