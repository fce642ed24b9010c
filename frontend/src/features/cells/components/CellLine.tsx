import { CartesianGrid, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { COLORS } from "../../../components/colors";
import type { CellHistoryRow } from "../utils/history";

const dateTick = (t: number) => new Date(t).toISOString().slice(0, 10);

/** One of a cell's readings over time. */
export function CellLine({
  rows,
  dataKey,
  unit,
  color,
  digits,
  zero = false,
}: {
  rows: CellHistoryRow[];
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
