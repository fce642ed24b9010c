import { useQuery } from "@tanstack/react-query";
import { Link, useParams } from "react-router";
import {
  CartesianGrid,
  ComposedChart,
  ReferenceArea,
  ReferenceLine,
  ResponsiveContainer,
  Scatter,
  Tooltip,
  XAxis,
  YAxis,
  Bar,
  Cell,
} from "recharts";
import { api, unwrap } from "../api/client";
import type { Report } from "../api/types";
import { Card, Query } from "../components/Status";
import { COLORS } from "../components/colors";
import { cellStrip, formatDateTime, formatNumber, PROFILE_THRESHOLDS } from "../lib/shape";

const FLAG_TEXT: Record<string, string> = {
  late_upload: "received more than 24 h after its timestamp",
  capacity_above_nominal: "current capacity above the nominal capacity",
  cell_out_of_profile_range: "a cell outside the profile's voltage range",
  suspect_sensor: "one reading so far from the pack that a sensor fault is likelier",
};

export function LogPage() {
  const logId = useParams().logId ?? "";
  const report = useQuery({
    queryKey: ["report", logId],
    queryFn: async () => unwrap(await api.GET("/api/v1/reports/{log_id}", { params: { path: { log_id: logId } } })),
  });
  const log = useQuery({
    queryKey: ["log", logId],
    queryFn: async () => unwrap(await api.GET("/api/v1/diagnostics/{log_id}", { params: { path: { log_id: logId } } })),
  });
  return (
    <>
      <h1>Log {logId}</h1>
      <Query query={report} what="the report">
        {(data) =>
          data.status !== "completed" ? (
            <p className="error" role="alert">
              This log's report {data.status === "failed" ? "failed" : "is not ready yet"}.
            </p>
          ) : (
            <ReportCard report={data as Report} />
          )
        }
      </Query>
      <Query query={log} what="the log's cells">
        {(data) => {
          const profile = report.data && "profile" in report.data ? report.data.profile : "nmc";
          const thresholds = PROFILE_THRESHOLDS[profile];
          const strip = cellStrip(data, thresholds);
          const vPad = Math.max(0.01, (strip.voltageMax - strip.voltageMin) * 0.2);
          return (
            <div className="grid">
              <Card title="Cell voltages" className="wide">
                <p className="caption" data-testid="voltage-summary">
                  {data.cells.length} cells, min {strip.voltageMin.toFixed(3)} V, max {strip.voltageMax.toFixed(3)} V, spread {formatNumber(strip.spreadMv)} mV. Shaded: the {thresholds.imbalanceMv} mV band above the lowest cell; a cell above it makes the pack imbalanced
                  {strip.outsideBand.length > 0 ? ` (cells ${strip.outsideBand.join(", ")})` : " (none)"}.
                </p>
                <div className="chart" data-testid="voltage-chart">
                  <ResponsiveContainer width="100%" height={260} initialDimension={{ width: 480, height: 260 }}>
                    <ComposedChart data={strip.rows} margin={{ left: 8, right: 12, top: 8 }}>
                      <CartesianGrid strokeDasharray="3 3" />
                      <XAxis dataKey="id" type="number" domain={["dataMin - 1", "dataMax + 1"]} label={{ value: "cell", position: "insideBottomRight", offset: -2 }} />
                      <YAxis domain={[strip.voltageMin - vPad, strip.voltageMax + vPad]} tickFormatter={(v: number) => v.toFixed(3)} width={52} unit=" V" allowDataOverflow />
                      <Tooltip formatter={(value) => `${Number(value).toFixed(3)} V`} labelFormatter={(id) => `cell ${id}`} />
                      <ReferenceArea y1={strip.voltageMin} y2={strip.bandTop} fill={COLORS.band} fillOpacity={0.8} />
                      <ReferenceLine y={strip.voltageMin} stroke={COLORS.blue} strokeDasharray="4 2" label={{ value: "min", position: "insideBottomLeft" }} />
                      <ReferenceLine y={strip.voltageMax} stroke={COLORS.vermillion} strokeDasharray="4 2" label={{ value: "max", position: "insideTopLeft" }} />
                      <Scatter dataKey="voltage" name="Voltage" isAnimationActive={false}>
                        {strip.rows.map((row) => (
                          <Cell key={row.id} fill={strip.outsideBand.includes(row.id) ? COLORS.vermillion : COLORS.blue} />
                        ))}
                      </Scatter>
                    </ComposedChart>
                  </ResponsiveContainer>
                </div>
              </Card>
              <Card title="Cell temperatures" className="wide">
                <p className="caption" data-testid="temperature-summary">
                  Max {formatNumber(strip.temperatureMax)} °C; line: {thresholds.overheatC} °C, above it a cell overheats
                  {strip.hotCells.length > 0 ? ` (cells ${strip.hotCells.join(", ")})` : " (none)"}.
                </p>
                <div className="chart" data-testid="temperature-chart">
                  <ResponsiveContainer width="100%" height={240} initialDimension={{ width: 480, height: 240 }}>
                    <ComposedChart data={strip.rows} margin={{ left: 8, right: 12, top: 8 }}>
                      <CartesianGrid strokeDasharray="3 3" vertical={false} />
                      <XAxis dataKey="id" minTickGap={8} />
                      <YAxis domain={[0, (max: number) => Math.max(max, thresholds.overheatC) + 5]} width={44} unit=" °C" />
                      <Tooltip formatter={(value) => `${Number(value).toFixed(1)} °C`} labelFormatter={(id) => `cell ${id}`} />
                      <Bar dataKey="temperature" name="Temperature" isAnimationActive={false}>
                        {strip.rows.map((row) => (
                          <Cell key={row.id} fill={strip.hotCells.includes(row.id) ? COLORS.vermillion : COLORS.sky} />
                        ))}
                      </Bar>
                      <ReferenceLine y={thresholds.overheatC} stroke={COLORS.vermillion} strokeDasharray="4 2" label={{ value: `${thresholds.overheatC} °C`, position: "insideTopRight" }} />
                    </ComposedChart>
                  </ResponsiveContainer>
                </div>
              </Card>
            </div>
          );
        }}
      </Query>
    </>
  );
}

function ReportCard({ report }: { report: Report }) {
  return (
    <Card title="Report">
      <dl className="facts">
        <dt>Vehicle</dt>
        <dd>
          <Link to={`/vehicles/${encodeURIComponent(report.vehicle_id)}`}>{report.vehicle_id}</Link>
        </dd>
        <dt>Log time</dt>
        <dd>{formatDateTime(report.timestamp)}</dd>
        <dt>SoH</dt>
        <dd data-testid="report-soh">{formatNumber(report.battery_soh)} %</dd>
        <dt>Cycles</dt>
        <dd>{report.cycle_count}</dd>
        <dt>Anomalies</dt>
        <dd data-testid="report-anomalies">
          {report.anomaly_details.length === 0
            ? "none"
            : report.anomaly_details.map((detail) => `${detail.message}: ${formatNumber(detail.value)} ${detail.unit} (threshold ${detail.threshold})`).join("; ")}
        </dd>
        <dt>Data quality</dt>
        <dd data-testid="data-quality">
          {report.data_quality.flags.length === 0 ? "clean" : report.data_quality.flags.map((flag) => `${flag}: ${FLAG_TEXT[flag] ?? flag}`).join("; ")}
        </dd>
        <dt>Rules</dt>
        <dd>
          profile {report.profile}, rules {report.rules_version}, generated {formatDateTime(report.generated_at)}
        </dd>
      </dl>
    </Card>
  );
}
