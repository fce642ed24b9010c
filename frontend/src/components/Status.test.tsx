import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ApiError } from "../api/errors";
import { Card, Query } from "./Status";

describe("Query", () => {
  it("says what it loads while pending, politely", () => {
    render(
      <Query query={{ data: undefined, error: null, isPending: true }} what="the vehicle">
        {() => <p>ready</p>}
      </Query>,
    );
    const status = screen.getByRole("status");
    expect(status.textContent).toBe("Loading the vehicle…");
    expect(status.getAttribute("aria-live")).toBe("polite");
    expect(screen.queryByText("ready")).toBeNull();
  });

  it("shows the API's error with its status as an alert", () => {
    render(
      <Query query={{ data: undefined, error: new ApiError(404, "not_found", "No such vehicle."), isPending: false }} what="the vehicle">
        {() => <p>ready</p>}
      </Query>,
    );
    expect(screen.getByRole("alert").textContent).toBe("Could not load the vehicle (404): No such vehicle.");
  });

  it("shows an error that is not the API's without a status", () => {
    render(
      <Query query={{ data: undefined, error: new TypeError("Failed to fetch"), isPending: false }} what="alerts">
        {() => <p>ready</p>}
      </Query>,
    );
    expect(screen.getByRole("alert").textContent).toBe("Could not load alerts: Failed to fetch");
  });

  it("renders the data once there", () => {
    render(
      <Query query={{ data: { n: 3 }, error: null, isPending: false }} what="alerts">
        {(data) => <p>{data.n} alerts</p>}
      </Query>,
    );
    expect(screen.getByText("3 alerts")).toBeTruthy();
    expect(screen.queryByRole("status")).toBeNull();
    expect(screen.queryByRole("alert")).toBeNull();
  });
});

describe("Card", () => {
  it("is a region named by its heading", () => {
    render(
      <Card title="Open alerts" className="wide">
        <p>body</p>
      </Card>,
    );
    const region = screen.getByRole("region", { name: "Open alerts" });
    expect(region.className).toBe("card wide");
    expect(screen.getByRole("heading", { level: 2 }).id).toBe("card-open-alerts");
  });
});
