import { describe, expect, it } from "vitest";
import { dateTickFormatter, formatDate, formatDateTime, formatNumber } from "./format";

describe("format", () => {
  it("dateTickFormatter shows days on short spans and months on long ones", () => {
    const t = Date.parse("2026-03-04T00:00:00Z");
    expect(dateTickFormatter(t, t + 10 * 86_400_000)(t)).toBe("2026-03-04");
    expect(dateTickFormatter(t, t + 200 * 86_400_000)(t)).toBe("2026-03");
  });

  it("writes a missing figure or date as a dash", () => {
    expect(formatNumber(null)).toBe("–");
    expect(formatNumber(Number.NaN)).toBe("–");
    expect(formatNumber(91.26)).toBe("91.3");
    expect(formatNumber(91.256, 2)).toBe("91.26");
    expect(formatDate("2026-03-04T05:06:07Z")).toBe("2026-03-04");
    expect(formatDateTime("2026-03-04T05:06:07Z")).toBe("2026-03-04 05:06 UTC");
    expect(formatDateTime(null)).toBe("–");
  });
});
