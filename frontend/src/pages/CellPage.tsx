import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router";
import { CartesianGrid, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api, unwrap } from "../api/client";
import { Card, Query } from "../components/Status";
import { COLORS } from "../components/colors";
import { cellHistoryRows, formatNumber, periodSince } from "../lib/shape";

const dateTick = (t: number) => new Date(t).toISOString().slice(0, 10);
const PERIODS = [7, 30, 90, 180, 365];

export function CellPage() {
  const params = useParams();
  const vehicleId = params.vehicleId ?? "";
  const cellId = params.cellId ?? "";
  const [days, setDays] = useState(90);
  const vehicle = useQuery({
    queryKey: ["vehicle", vehicleId],
    queryFn: async () => unwrap(await api.GET("/api/v1/vehicles/{vehicle_id}", { params: { path: { vehicle_id: vehicleId } } })),
  });
  // The period ends at the vehicle's newest log, so a vehicle that stopped reporting still shows its last days.
  const since = vehicle.data ? periodSince(vehicle.data.last_seen, days) : null;
  const history = useQuery({
    queryKey: ["cell-history", vehicleId, cellId, since],
    enabled: since !== null,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/vehicles/{vehicle_id}/cells/{cell_id}/history", {
          params: { path: { vehicle_id: vehicleId, cell_id: cellId }, query: { since: since ?? undefined, limit: 10000 } },
        }),
      ),
  });
  return (
    <>
      <h1>
        Cell #{cellId} of <Link to={`/vehicles/${encodeURIComponent(vehicleId)}`}>{vehicleId}</Link>
      </h1>
      <label className="inline">
        Period
        <select value={days} onChange={(event) => setDays(Number(event.target.value))}>
          {PERIODS.map((value) => (
            <option key={value} value={value}>
              last {value} days
            </option>
          ))}
        </select>
      </label>
      <Query query={vehicle} what="the vehicle">
        {() => (
          <Query query={history} what="the cell's history">
            {(data) => {
              const rows = cellHistoryRows(data.results);
              const last = rows.at(-1);
              return (
                <>
                  <p className="caption" data-testid="cell-summary">
                    {rows.length} readings{last ? `; latest ${last.voltage.toFixed(3)} V, ${formatNumber(last.temperature)} °C, ${formatNumber(last.deviation)} mV from the pack median` : ""}
                    {data.next ? " (first 10,000 shown)" : ""}.
                  </p>
                  <div className="grid">
                    <Card title="Voltage">
                      <CellLine rows={rows} dataKey="voltage" unit=" V" color={COLORS.blue} digits={3} />
                    </Card>
                    <Card title="Temperature">
                      <CellLine rows={rows} dataKey="temperature" unit=" °C" color={COLORS.vermillion} digits={1} />
                    </Card>
                    <Card title="Deviation from the pack median" className="wide">
                      <CellLine rows={rows} dataKey="deviation" unit=" mV" color={COLORS.green} digits={1} zero />
                    </Card>
                  </div>
                </>
              );
            }}
          </Query>
        )}
      </Query>
    </>
  );
}

function CellLine({
  rows,
  dataKey,
  unit,
  color,
  digits,
  zero = false,
}: {
  rows: ReturnType<typeof cellHistoryRows>;
  dataKey: "voltage" | "temperature" | "deviation";
  unit: string;
  color: string;
  digits: number;
  zero?: boolean;
}) {
  return (
    <div className="chart" data-testid={`cell-${dataKey}-chart`}>
      <ResponsiveContainer width="100%" height={220} initialDimension={{ width: 480, height: 220 }}>
        <LineChart data={rows} margin={{ left: 8, right: 12, top: 8 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="t" type="number" domain={["dataMin", "dataMax"]} tickFormatter={dateTick} minTickGap={40} />
          <YAxis domain={["auto", "auto"]} tickFormatter={(v: number) => v.toFixed(digits)} width={60} unit={unit} />
          <Tooltip labelFormatter={(t) => dateTick(Number(t))} formatter={(value) => `${Number(value).toFixed(digits)}${unit}`} />
          {zero && <ReferenceLine y={0} stroke={COLORS.grey} />}
          <Line dataKey={dataKey} stroke={color} dot={rows.length < 60} strokeWidth={2} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
