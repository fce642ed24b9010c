// A log's cells for the strip charts of the log page.
import type { DiagnosticLog } from "../../../api/types";
import type { ProfileThresholds } from "../../../lib/vocabulary";

export interface CellStripRow {
  id: number;
  voltage: number;
  temperature: number;
  deviationMv: number;
}

export interface CellStrip {
  rows: CellStripRow[];
  voltageMin: number;
  voltageMax: number;
  spreadMv: number;
  medianVoltage: number;
  temperatureMax: number;
  bandTop: number; // voltage_min + the imbalance threshold: a cell above it makes the pack imbalanced
  outsideBand: number[]; // ids of the cells above the band
  hotCells: number[]; // ids of the cells above the overheating line
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 ? upper : ((sorted[mid - 1] ?? Number.NaN) + upper) / 2;
}

/** The log's cells for the strip charts, with the pack's min/max, the imbalance band and the hot cells. */
export function cellStrip(log: DiagnosticLog, thresholds: ProfileThresholds): CellStrip {
  const voltages = log.cells.map((cell) => cell.voltage);
  const medianVoltage = median(voltages);
  const voltageMin = Math.min(...voltages);
  const voltageMax = Math.max(...voltages);
  const bandTop = voltageMin + thresholds.imbalanceMv / 1000;
  const rows = log.cells.map((cell) => ({
    id: cell.id,
    voltage: cell.voltage,
    temperature: cell.temperature,
    deviationMv: Math.round((cell.voltage - medianVoltage) * 1e4) / 10,
  }));
  return {
    rows,
    voltageMin,
    voltageMax,
    spreadMv: Math.round((voltageMax - voltageMin) * 1e4) / 10,
    medianVoltage,
    temperatureMax: Math.max(...log.cells.map((cell) => cell.temperature)),
    bandTop,
    // A float tolerance: exactly the threshold is not an imbalance (reports/health rules).
    outsideBand: rows.filter((row) => row.voltage - bandTop > 1e-9).map((row) => row.id),
    hotCells: rows.filter((row) => row.temperature > thresholds.overheatC).map((row) => row.id),
  };
}
