import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { DataTable, type Column } from "./DataTable";
import { nextOrdering, sortDirection, type Ordering } from "./ordering";

interface Row {
  id: string;
  soh: number;
  note: string;
}

type Key = "id" | "soh";

const COLUMNS: Column<Row, Key>[] = [
  { key: "id", header: "Vehicle", sortKey: "id", cell: (row) => row.id },
  { key: "soh", header: "SoH %", sortKey: "soh", className: "num", testId: "soh-cell", cell: (row) => row.soh.toFixed(1) },
  { key: "note", header: <span className="visually-hidden">Note</span>, cell: (row) => row.note },
];

const ROWS: Row[] = [
  { id: "EV-2", soh: 91.25, note: "b" },
  { id: "EV-1", soh: 88, note: "a" },
];

function cellTexts(table: HTMLElement): string[][] {
  return within(table)
    .getAllByRole("row")
    .slice(1)
    .map((row) => within(row).getAllByRole("cell").map((cell) => cell.textContent ?? ""));
}

describe("DataTable", () => {
  it("renders one row per item in the given order, each cell from its column", () => {
    render(<DataTable testId="t" columns={COLUMNS} rows={ROWS} rowKey={(row) => row.id} rowProps={(row) => ({ "data-row-id": row.id })} />);
    const table = screen.getByTestId("t");
    expect(cellTexts(table)).toEqual([
      ["EV-2", "91.3", "b"],
      ["EV-1", "88.0", "a"],
    ]);
    const headers = within(table).getAllByRole("columnheader");
    expect(headers.map((th) => th.textContent)).toEqual(["Vehicle", "SoH %", "Note"]);
    expect(headers.every((th) => th.getAttribute("scope") === "col")).toBe(true);
    // Classes, test ids and row attributes reach the cells and rows.
    expect(screen.getAllByTestId("soh-cell").map((td) => td.className)).toEqual(["num", "num"]);
    expect(table.querySelectorAll("tbody tr[data-row-id]").length).toBe(2);
    expect(table.querySelector("tbody tr")?.getAttribute("data-row-id")).toBe("EV-2");
    expect(table.parentElement?.className).toBe("table-wrap");
  });

  it("says so in one full-width row when there are no rows", () => {
    render(<DataTable testId="t" columns={COLUMNS} rows={[]} rowKey={(row) => row.id} empty="No vehicles match." />);
    const cells = within(screen.getByTestId("t")).getAllByRole("cell");
    expect(cells).toHaveLength(1);
    expect(cells[0]?.textContent).toBe("No vehicles match.");
    expect(cells[0]?.getAttribute("colspan")).toBe("3");
  });

  it("has an empty body when there are no rows and no empty text", () => {
    render(<DataTable testId="t" columns={COLUMNS} rows={[]} rowKey={(row) => row.id} />);
    expect(within(screen.getByTestId("t")).getAllByRole("row")).toHaveLength(1); // the header row
  });

  it("has no sort buttons without a sorting", () => {
    render(<DataTable testId="t" columns={COLUMNS} rows={ROWS} rowKey={(row) => row.id} />);
    expect(screen.queryAllByRole("button")).toEqual([]);
    expect(screen.getAllByRole("columnheader").map((th) => th.getAttribute("aria-sort"))).toEqual([null, null, null]);
  });

  it("marks the sorted column and asks for the next ordering on a click", async () => {
    const onSort = vi.fn<(ordering: Ordering<Key>) => void>();
    const { rerender } = render(
      <DataTable testId="t" columns={COLUMNS} rows={ROWS} rowKey={(row) => row.id} sorting={{ ordering: "id", onSort }} />,
    );
    const headers = () => screen.getAllByRole("columnheader");
    expect(headers().map((th) => th.getAttribute("aria-sort"))).toEqual(["ascending", "none", null]);
    // Only the columns with a sort key get a button; the arrow is hidden from assistive technology.
    expect(screen.getAllByRole("button").map((button) => button.textContent)).toEqual(["Vehicle ▲", "SoH %"]);
    expect(headers()[0]?.querySelector("[aria-hidden=true]")?.textContent).toBe(" ▲");
    expect(screen.getByRole("button", { name: "Vehicle" })).toBeTruthy();

    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Vehicle" }));
    await user.click(screen.getByRole("button", { name: "SoH %" }));
    expect(onSort.mock.calls).toEqual([["-id"], ["soh"]]);

    rerender(<DataTable testId="t" columns={COLUMNS} rows={ROWS} rowKey={(row) => row.id} sorting={{ ordering: "-id", onSort }} />);
    expect(headers().map((th) => th.getAttribute("aria-sort"))).toEqual(["descending", "none", null]);
    expect(screen.getAllByRole("button")[0]?.textContent).toBe("Vehicle ▼");
    await user.click(screen.getByRole("button", { name: "Vehicle" }));
    expect(onSort).toHaveBeenLastCalledWith("id");
  });
});

describe("ordering", () => {
  it("toggles a column ascending then descending, and starts another ascending", () => {
    expect(nextOrdering<Key>("id", "id")).toBe("-id");
    expect(nextOrdering<Key>("-id", "id")).toBe("id");
    expect(nextOrdering<Key>("-id", "soh")).toBe("soh");
    expect(sortDirection<Key>("soh", "soh")).toBe("ascending");
    expect(sortDirection<Key>("-soh", "soh")).toBe("descending");
    expect(sortDirection<Key>("id", "soh")).toBe("none");
  });
});
