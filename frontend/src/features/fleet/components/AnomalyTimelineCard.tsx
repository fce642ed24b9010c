import { useState } from "react";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { Card, Query } from "../../../components/Status";
import { ANOMALY_COLORS } from "../../../components/colors";
import { ANOMALY_CODES, anomalyCountsText } from "../../../lib/vocabulary";
import { useVocabulary } from "../../../lib/vocabulary-query";
import { useAnomalyTimeline } from "../api/get-anomaly-timeline";
import { timelineRows, timelineTotals } from "../utils/shape";

/** Anomalies per day, stacked by code, over the last 30, 90 or 365 days. */
export function AnomalyTimelineCard() {
  const labels = useVocabulary();
  const [days, setDays] = useState(30);
  const timeline = useAnomalyTimeline(days);
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
                      <Bar key={code} dataKey={code} name={labels.anomaly[code]} stackId="a" fill={ANOMALY_COLORS[code]} isAnimationActive={false} />
                    ))}
                  </BarChart>
                </ResponsiveContainer>
              </div>
              <p className="caption" data-testid="timeline-totals">
                Last {data.days} days (UTC): {totals.reports} reports; {anomalyCountsText(labels.anomaly, totals)}.
              </p>
            </>
          );
        }}
      </Query>
    </Card>
  );
}
