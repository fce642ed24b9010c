import { Link } from "react-router";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { FleetSummary as Summary, FleetWindow } from "../../../api/types";
import { Card, Query } from "../../../components/Status";
import { COLORS, SEVERITY_COLORS } from "../../../components/colors";
import { formatNumber } from "../../../lib/format";
import { SEVERITIES, anomalyCountsText } from "../../../lib/vocabulary";
import { useVocabulary } from "../../../lib/vocabulary-query";
import { useFleetSummary } from "../api/get-fleet-summary";
import { sohHistogramRows } from "../utils/shape";

/** The summary's tiles, the SoH histogram, the open alerts by severity and the worst vehicles. */
export function FleetSummary({ window }: { window: FleetWindow }) {
  const summary = useFleetSummary(window);
  return (
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
              <OpenAlertsChart summary={data} />
              <AnomalyCaption summary={data} window={window} />
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

function OpenAlertsChart({ summary }: { summary: Summary }) {
  const rows = SEVERITIES.map((severity) => ({ severity, count: summary.open_alerts[severity] ?? 0 }));
  return (
    <div className="chart" data-testid="alerts-by-severity">
      <ResponsiveContainer width="100%" height={240} initialDimension={{ width: 480, height: 240 }}>
        <BarChart data={rows} layout="vertical" margin={{ left: 16, right: 16 }}>
          <CartesianGrid strokeDasharray="3 3" horizontal={false} />
          <XAxis type="number" allowDecimals={false} />
          <YAxis type="category" dataKey="severity" width={70} />
          <Tooltip />
          <Bar dataKey="count" name="Open alerts" isAnimationActive={false} fill={SEVERITY_COLORS.warning} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

function AnomalyCaption({ summary, window }: { summary: Summary; window: FleetWindow }) {
  const labels = useVocabulary();
  return (
    <p className="caption">
      <Link to="/alerts">All alerts</Link> · anomalies in reports of the last {window}: {anomalyCountsText(labels.anomaly, summary.anomalies)}
    </p>
  );
}
