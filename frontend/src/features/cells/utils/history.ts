// One cell's readings for the cell page's charts.
import type { CellReading } from "../../../api/types";

export type CellHistoryRow = { t: number; voltage: number; temperature: number; deviation: number };

export function cellHistoryRows(readings: CellReading[]): CellHistoryRow[] {
  return readings.map((reading) => ({
    t: Date.parse(reading.timestamp),
    voltage: reading.voltage,
    temperature: reading.temperature,
    deviation: reading.voltage_deviation_mv,
  }));
}
