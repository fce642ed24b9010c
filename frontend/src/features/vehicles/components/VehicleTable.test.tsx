import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Vehicle } from "../../../api/types";
import { renderWithClient, stubApi } from "../../../testing/render";
import { VehicleTable } from "./VehicleTable";

function vehicle(id: string, soh: number | null): Vehicle {
  return {
    vehicle_id: id,
    vin: null,
    model: null,
    manufacture_date: null,
    profile: "nmc",
    first_seen: "2026-01-01T00:00:00Z",
    last_seen: soh === null ? null : "2026-03-04T05:06:07Z",
    log_count: soh === null ? 0 : 40,
    latest:
      soh === null
        ? null
        : { log_id: `${id}-log`, timestamp: "2026-03-04T05:06:07Z", battery_soh: soh, cycle_count: 812, anomalies: ["overheating", "low_soh"] },
  };
}

const NEXT = "http://localhost:3000/api/v1/vehicles?cursor=page2&limit=50";

function firstColumn(): string[] {
  return within(screen.getByTestId("vehicles-table"))
    .getAllByRole("row")
    .slice(1)
    .map((row) => within(row).getAllByRole("cell")[0]?.textContent ?? "");
}

function params(url: URL | undefined): Record<string, string> {
  return Object.fromEntries(url?.searchParams ?? []);
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("VehicleTable", () => {
  it("shows the API's first page in its order, then the next through the cursor", async () => {
    const asked = stubApi((url) =>
      url.searchParams.get("cursor") === "page2"
        ? { body: { results: [vehicle("EV-3", null)], next: null } }
        : { body: { results: [vehicle("EV-1", 91.26), vehicle("EV-2", 78.5)], next: NEXT } },
    );
    renderWithClient(<VehicleTable />);
    expect(screen.getByRole("status").textContent).toBe("Loading vehicles…");
    await waitFor(() => expect(firstColumn()).toEqual(["EV-1", "EV-2"]));
    expect(asked.map((url) => url.pathname)).toEqual(["/api/v1/vehicles"]);
    expect(params(asked[0])).toEqual({ ordering: "vehicle_id", limit: "50" });
    const first = within(screen.getByTestId("vehicles-table")).getAllByRole("row")[1];
    expect(within(first as HTMLElement).getAllByRole("cell").map((cell) => cell.textContent)).toEqual([
      "EV-1",
      "91.3",
      "2026-03-04",
      "nmc",
      "812",
      "overheating, low_soh",
      "40",
    ]);
    expect(within(first as HTMLElement).getByRole("link").getAttribute("href")).toBe("/vehicles/EV-1");
    expect(screen.getByTestId("vehicles-shown").textContent).toBe("2");

    await userEvent.setup().click(screen.getByRole("button", { name: "Load more" }));
    await waitFor(() => expect(screen.getByTestId("vehicles-shown").textContent).toBe("3"));
    expect(params(asked[1])).toEqual({ ordering: "vehicle_id", limit: "50", cursor: "page2" });
    expect(firstColumn()).toEqual(["EV-1", "EV-2", "EV-3"]);
    // A vehicle without a report: dashes and "none".
    const last = within(screen.getByTestId("vehicles-table")).getAllByRole("row")[3];
    expect(within(last as HTMLElement).getAllByRole("cell").map((cell) => cell.textContent)).toEqual(["EV-3", "–", "–", "nmc", "–", "none", "0"]);
    expect(screen.queryByRole("button", { name: "Load more" })).toBeNull();
  });

  it("asks the API for the ordering of the clicked column, then the reverse", async () => {
    const asked = stubApi(() => ({ body: { results: [vehicle("EV-1", 90)], next: null } }));
    renderWithClient(<VehicleTable />);
    await waitFor(() => expect(firstColumn()).toEqual(["EV-1"]));
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Latest SoH %" }));
    await waitFor(() => expect(asked).toHaveLength(2));
    expect(params(asked[1]).ordering).toBe("latest_soh");
    await waitFor(() => expect(screen.getByRole("columnheader", { name: "Latest SoH %" }).getAttribute("aria-sort")).toBe("ascending"));
    expect(screen.getByRole("columnheader", { name: "Vehicle" }).getAttribute("aria-sort")).toBe("none");
    await user.click(screen.getByRole("button", { name: "Latest SoH %" }));
    await waitFor(() => expect(asked).toHaveLength(3));
    expect(params(asked[2]).ordering).toBe("-latest_soh");
  });

  it("filters by profile, anomaly and SoH through the API's parameters", async () => {
    const asked = stubApi(() => ({ body: { results: [], next: null } }));
    renderWithClient(<VehicleTable />);
    await waitFor(() => expect(screen.getByText("No vehicles match.")).toBeTruthy());
    // The options come from the vocabulary: its labels, the API's codes.
    const anomaly = screen.getByLabelText("Anomaly in latest report") as HTMLSelectElement;
    expect([...anomaly.options].map((option) => [option.value, option.text])).toEqual([
      ["", "any"],
      ["voltage_imbalance", "Voltage imbalance"],
      ["overheating", "Overheating"],
      ["low_soh", "Low SoH"],
    ]);
    const user = userEvent.setup();
    await user.selectOptions(screen.getByLabelText("Profile"), "lfp");
    await user.selectOptions(anomaly, "overheating");
    await user.type(screen.getByLabelText("SoH below"), "85");
    await waitFor(() => expect(params(asked.at(-1))).toEqual({ ordering: "vehicle_id", limit: "50", profile: "lfp", anomaly: "overheating", soh_lt: "85" }));
    expect(screen.getByTestId("vehicles-shown").textContent).toBe("0");
  });

  it("shows the API's error", async () => {
    stubApi(() => ({ status: 400, body: { error: { code: "invalid", message: "soh_lt: a number between 0 and 100." } } }));
    renderWithClient(<VehicleTable />);
    await waitFor(() => expect(screen.getByRole("alert").textContent).toBe("Could not load vehicles (400): soh_lt: a number between 0 and 100."));
    expect(screen.queryByTestId("vehicles-table")).toBeNull();
  });
});
