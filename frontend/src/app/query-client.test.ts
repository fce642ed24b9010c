// @vitest-environment jsdom
// (the features' hooks import the API client, whose base URL is the window's origin)
import { describe, expect, it } from "vitest";
import { ApiError } from "../api/errors";
import { alertMutationKey } from "../features/alerts/api/act-on-alert";
import { fleetKeys } from "../features/fleet/api/keys";
import { vehicleKeys } from "../features/vehicles/api/keys";
import { createQueryClient } from "./query-client";

async function runMutation(client: ReturnType<typeof createQueryClient>, mutationKey: readonly unknown[], fails = false) {
  const mutation = client.getMutationCache().build(client, {
    mutationKey,
    mutationFn: async () => {
      if (fails) throw new Error("refused");
      return "done";
    },
  });
  await mutation.execute(undefined).catch(() => undefined);
}

describe("createQueryClient", () => {
  it("makes the fleet summaries stale after an alert changes, and nothing else", async () => {
    const client = createQueryClient();
    client.setQueryData(fleetKeys.summary("24h"), { vehicles: 1 });
    client.setQueryData(fleetKeys.summary("7d"), { vehicles: 1 });
    client.setQueryData(fleetKeys.anomalyTimeline(30), { days: 30 });
    client.setQueryData(vehicleKeys.detail("EV-1"), { vehicle_id: "EV-1" });
    const invalidated = () =>
      [fleetKeys.summary("24h"), fleetKeys.summary("7d"), fleetKeys.anomalyTimeline(30), vehicleKeys.detail("EV-1")].map(
        (key) => client.getQueryState(key)?.isInvalidated,
      );
    expect(invalidated()).toEqual([false, false, false, false]);

    await runMutation(client, [...vehicleKeys.detail("EV-1"), "update"]);
    expect(invalidated()).toEqual([false, false, false, false]);
    await runMutation(client, alertMutationKey, true);
    expect(invalidated()).toEqual([false, false, false, false]);
    await runMutation(client, alertMutationKey);
    expect(invalidated()).toEqual([true, true, false, false]);
  });

  it("asks again twice after a 5xx or a network error, never after a 4xx", () => {
    const retry = createQueryClient().getDefaultOptions().queries?.retry;
    if (typeof retry !== "function") throw new Error("retry is not a function");
    expect(retry(0, new ApiError(404, "not_found", "No such vehicle."))).toBe(false);
    expect(retry(0, new ApiError(429, "throttled", "Slow down."))).toBe(false);
    expect([0, 1, 2].map((count) => retry(count, new ApiError(503, "service_unavailable", "Later.")))).toEqual([true, true, false]);
    expect(retry(0, new TypeError("Failed to fetch"))).toBe(true);
  });
});
