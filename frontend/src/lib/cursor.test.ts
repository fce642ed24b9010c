import { describe, expect, it } from "vitest";
import { cursorOf, pagedRows, withCursor } from "./cursor";

describe("cursorOf", () => {
  it("reads the cursor of a next URL", () => {
    expect(cursorOf("http://127.0.0.1:8000/api/v1/vehicles?cursor=WyI3MS40%3D&limit=2&ordering=latest_soh")).toBe("WyI3MS40=");
  });
  it("is null at the end", () => {
    expect(cursorOf(null)).toBeNull();
    expect(cursorOf("http://x/api/v1/vehicles?limit=2")).toBeNull();
  });
});

describe("paging helpers", () => {
  it("asks for the first page without a cursor and joins the pages' rows in order", () => {
    expect(withCursor(null)).toEqual({});
    expect(withCursor("abc")).toEqual({ cursor: "abc" });
    expect(pagedRows({ pages: [{ results: [1, 2] }, { results: [3] }] })).toEqual([1, 2, 3]);
    expect(pagedRows(undefined)).toEqual([]);
  });
});
