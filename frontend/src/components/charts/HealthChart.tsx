import {
  Area,
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  ReferenceLine,
  ResponsiveContainer,
  Scatter,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import type { Health } from "../../api/types";
import { dateTickFormatter } from "../../lib/format";
import { healthPoints } from "../../lib/health";
import { COLORS } from "../colors";

/** SoH over time or over cycles: the readings, the fitted trend, the forecast to the threshold with its
 *  prediction interval band, and the jumps. */
export function HealthChart({ health, axis, height = 280 }: { health: Health; axis: "time" | "cycles"; height?: number }) {
  const points = healthPoints(health, axis);
  const xKey = axis === "time" ? "t" : "cycles";
  const interval = Math.round(health.forecast.interval * 100);
  const times = points.map((point) => point.t).filter(Number.isFinite);
  const dateTick = dateTickFormatter(Math.min(...times), Math.max(...times));
  return (
    <div className="chart" data-testid={`health-chart-${axis}`}>
      <ResponsiveContainer width="100%" height={height} initialDimension={{ width: 480, height: height }}>
        <ComposedChart data={points} margin={{ left: 0, right: 12, top: 8 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis
            dataKey={xKey}
            type="number"
            domain={["dataMin", "dataMax"]}
            tickFormatter={axis === "time" ? dateTick : (value: number) => String(Math.round(value))}
            minTickGap={30}
            label={axis === "cycles" ? { value: "cycles", position: "insideBottomRight", offset: -2 } : undefined}
          />
          <YAxis domain={[(min: number) => Math.floor(Math.min(min, health.forecast.threshold_soh) - 2), 100]} width={52} unit="%" allowDataOverflow />
          <Tooltip
            labelFormatter={(value) => (axis === "time" ? new Date(Number(value)).toISOString().slice(0, 10) : `${Math.round(Number(value))} cycles`)}
            formatter={(value) => (Array.isArray(value) ? value.map((v) => Number(v).toFixed(1)).join("–") : Number(value).toFixed(2))}
          />
          <Legend formatter={(value: string) => <span className="legend-text">{value}</span>} />
          <Area dataKey="band" name={`${interval} % interval`} stroke="none" fill={COLORS.band} isAnimationActive={false} connectNulls />
          <Scatter dataKey="soh" name="SoH" fill={COLORS.blue} isAnimationActive={false} />
          <Line dataKey="fitted" name="Trend" stroke={COLORS.green} dot={false} strokeWidth={2} isAnimationActive={false} />
          <Line
            dataKey="forecast"
            name="Forecast"
            stroke={COLORS.vermillion}
            strokeDasharray="6 4"
            dot={false}
            strokeWidth={2}
            connectNulls
            isAnimationActive={false}
          />
          <Scatter dataKey="jump" name="Jump" fill={COLORS.purple} shape="diamond" isAnimationActive={false} />
          <ReferenceLine y={health.forecast.threshold_soh} stroke={COLORS.grey} strokeDasharray="2 2" label={{ value: `${health.forecast.threshold_soh} %`, position: "insideTopLeft" }} />
        </ComposedChart>
      </ResponsiveContainer>
    </div>
  );
}
