import { Bar, CartesianGrid, Cell, ComposedChart, ReferenceArea, ReferenceLine, ResponsiveContainer, Scatter, Tooltip, XAxis, YAxis } from "recharts";
import type { DiagnosticLog } from "../../../api/types";
import { Card, Query } from "../../../components/Status";
import { COLORS } from "../../../components/colors";
import { formatNumber } from "../../../lib/format";
import { DEFAULT_PROFILE, type ProfileThresholds } from "../../../lib/vocabulary";
import { useVocabulary } from "../../../lib/vocabulary-query";
import { useDiagnosticLog } from "../api/get-diagnostic-log";
import { useReport } from "../api/get-report";
import { cellStrip } from "../utils/cell-strip";

/** The log's cell voltages against the imbalance band and its temperatures against the overheating line, with
 *  the thresholds of the profile its report applied. */
export function LogCells({ logId }: { logId: string }) {
  const { thresholds } = useVocabulary();
  const log = useDiagnosticLog(logId);
  const report = useReport(logId);
  const profile = report.data && "profile" in report.data ? report.data.profile : DEFAULT_PROFILE;
  return <Query query={log} what="the log's cells">{(data) => <CellCharts log={data} thresholds={thresholds[profile]} />}</Query>;
}

function CellCharts({ log, thresholds }: { log: DiagnosticLog; thresholds: ProfileThresholds }) {
  const strip = cellStrip(log, thresholds);
  const vPad = Math.max(0.01, (strip.voltageMax - strip.voltageMin) * 0.2);
  return (
    <div className="grid">
      <Card title="Cell voltages" className="wide">
        <p className="caption" data-testid="voltage-summary">
          {log.cells.length} cells, min {strip.voltageMin.toFixed(3)} V, max {strip.voltageMax.toFixed(3)} V, spread {formatNumber(strip.spreadMv)} mV. Shaded: the {thresholds.imbalanceMv} mV band above the lowest cell; a cell above it makes the pack imbalanced
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
}
