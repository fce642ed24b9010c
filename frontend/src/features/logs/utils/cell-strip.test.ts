import { describe, expect, it } from "vitest";
import type { DiagnosticLog } from "../../../api/types";
import { cellStrip, median } from "./cell-strip";

describe("cellStrip", () => {
  const log = {
    cells: [
      { id: 0, voltage: 4.0, temperature: 30 },
      { id: 1, voltage: 4.05, temperature: 46 },
      { id: 2, voltage: 4.051, temperature: 45 },
      { id: 3, voltage: 4.02, temperature: 31 },
    ],
  } as DiagnosticLog;

  it("finds min, max, spread and the cells above the band", () => {
    const strip = cellStrip(log, { imbalanceMv: 50, overheatC: 45 });
    expect(strip.voltageMin).toBe(4.0);
    expect(strip.voltageMax).toBe(4.051);
    expect(strip.spreadMv).toBe(51);
    // Exactly 50 mV above the lowest cell is inside the band (the rules: 50.000 mV is not an imbalance).
    expect(strip.outsideBand).toEqual([2]);
    // Exactly 45 °C is not overheating.
    expect(strip.hotCells).toEqual([1]);
    expect(strip.rows.map((row) => row.deviationMv)).toEqual([-35, 15, 16, -15]);
  });
});

describe("median", () => {
  it("median", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});
