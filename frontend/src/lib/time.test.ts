import { describe, expect, it } from "vitest";
import { periodSince } from "./time";

describe("periodSince", () => {
  it("counts back from the end", () => {
    expect(periodSince("2026-01-31T00:00:00Z", 30)).toBe("2026-01-01T00:00:00.000Z");
    expect(periodSince(null, 1, Date.parse("2026-01-02T00:00:00Z"))).toBe("2026-01-01T00:00:00.000Z");
  });
});
