import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Alert } from "../../../api/types";
import { renderWithClient, stubApi } from "../../../testing/render";
import { AlertTable } from "./AlertTable";

function alert(id: string, state: Alert["state"], cells: number[] = [3]): Alert {
  return {
    id,
    vehicle_id: "EV-7",
    type: "overheating",
    severity: "critical",
    state,
    opened_at: "2026-03-01T10:00:00Z",
    last_seen_at: "2026-03-04T05:06:07Z",
    occurrences: 4,
    last_log_id: `log-${id}`,
    cells,
    acknowledged_at: null,
    acknowledged_by: null,
    resolved_at: state === "resolved" ? "2026-03-05T00:00:00Z" : null,
    resolution: state === "resolved" ? "manual" : null,
  };
}

function rows(): HTMLElement[] {
  return within(screen.getByTestId("alerts-table")).getAllByRole("row").slice(1);
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("AlertTable", () => {
  it("shows each alert with the actions its state allows", async () => {
    const asked = stubApi(() => ({
      body: { results: [alert("a1", "open", [1, 2, 3, 4, 5, 6, 7]), alert("a2", "acknowledged"), alert("a3", "resolved")], next: null },
    }));
    renderWithClient(<AlertTable filters={{ vehicle_id: "EV-7" }} />);
    await waitFor(() => expect(rows()).toHaveLength(3));
    expect(Object.fromEntries(asked[0]?.searchParams ?? [])).toEqual({ vehicle_id: "EV-7", limit: "50" });
    expect(rows().map((row) => row.getAttribute("data-alert-id"))).toEqual(["a1", "a2", "a3"]);
    expect(within(rows()[0] as HTMLElement).getAllByRole("cell").map((cell) => cell.textContent)).toEqual([
      "EV-7",
      "overheating",
      "critical",
      "open",
      "2026-03-01 10:00 UTC",
      "2026-03-04 05:06 UTC",
      "4",
      "1, 2, 3, 4, 5, 6…",
      "AcknowledgeResolve",
    ]);
    expect(screen.getAllByTestId("alert-state").map((cell) => cell.textContent)).toEqual(["open", "acknowledged", "resolved"]);
    expect(within(rows()[0] as HTMLElement).getByRole("link", { name: "2026-03-04 05:06 UTC" }).getAttribute("href")).toBe("/logs/log-a1");
    expect(screen.getAllByRole("button", { name: "Acknowledge overheating on EV-7" })).toHaveLength(1);
    expect(screen.getAllByRole("button", { name: "Resolve overheating on EV-7" })).toHaveLength(2);
    expect(within(rows()[2] as HTMLElement).getAllByRole("cell").at(-1)?.textContent).toBe("manual");
  });

  it("acknowledges an alert, then asks for the list again", async () => {
    let acknowledged = false;
    const asked = stubApi((url) => {
      if (url.pathname === "/api/v1/alerts/a1/acknowledge") {
        acknowledged = true;
        return { body: { ...alert("a1", "acknowledged") } };
      }
      return { body: { results: acknowledged ? [] : [alert("a1", "open")], next: null } };
    });
    renderWithClient(<AlertTable filters={{ state: "open" }} />);
    await waitFor(() => expect(rows()).toHaveLength(1));
    await userEvent.setup().click(screen.getByRole("button", { name: "Acknowledge overheating on EV-7" }));
    await waitFor(() => expect(screen.getByText("No alerts.")).toBeTruthy());
    expect(asked.map((url) => url.pathname)).toEqual(["/api/v1/alerts", "/api/v1/alerts/a1/acknowledge", "/api/v1/alerts"]);
    const fetched = vi.mocked(fetch).mock.calls.map(([request]) => (request as Request).method);
    expect(fetched).toEqual(["GET", "POST", "GET"]);
  });

  it("shows a refused action above the table", async () => {
    stubApi((url) =>
      url.pathname.endsWith("/resolve")
        ? { status: 409, body: { error: { code: "conflict", message: "The alert is already resolved." } } }
        : { body: { results: [alert("a1", "open")], next: null } },
    );
    renderWithClient(<AlertTable filters={{ state: "open" }} />);
    await waitFor(() => expect(rows()).toHaveLength(1));
    await userEvent.setup().click(screen.getByRole("button", { name: "Resolve overheating on EV-7" }));
    await waitFor(() => expect(screen.getByRole("alert").textContent).toBe("Could not load the alert (409): The alert is already resolved."));
    expect(rows()).toHaveLength(1);
  });
});
