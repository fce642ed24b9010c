import { Card, Query } from "../../../components/Status";
import { COLORS } from "../../../components/colors";
import { formatNumber } from "../../../lib/format";
import { HISTORY_LIMIT, useCellHistory } from "../api/get-cell-history";
import { cellHistoryRows } from "../utils/history";
import { CellLine } from "./CellLine";

/** One cell's voltage, temperature and deviation from the pack median since `since`. */
export function CellHistory({ vehicleId, cellId, since }: { vehicleId: string; cellId: string; since: string }) {
  const history = useCellHistory(vehicleId, cellId, since);
  return (
    <Query query={history} what="the cell's history">
      {(data) => {
        const rows = cellHistoryRows(data.results);
        const last = rows.at(-1);
        return (
          <>
            <p className="caption" data-testid="cell-summary">
              {rows.length} readings{last ? `; latest ${last.voltage.toFixed(3)} V, ${formatNumber(last.temperature)} °C, ${formatNumber(last.deviation)} mV from the pack median` : ""}
              {data.next ? ` (first ${HISTORY_LIMIT.toLocaleString("en")} shown)` : ""}.
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
  );
}
