import { useQuery } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { unwrap } from "../../../api/errors";
import type { FleetSummary, FleetWindow } from "../../../api/types";
import { fleetKeys } from "./keys";

/** GET /api/v1/fleet/summary over a window (the API's default: 24h). */
export function useFleetSummary(window: FleetWindow) {
  return useQuery({
    queryKey: fleetKeys.summary(window),
    queryFn: async (): Promise<FleetSummary> => unwrap(await api.GET("/api/v1/fleet/summary", { params: { query: { window } } })),
  });
}
