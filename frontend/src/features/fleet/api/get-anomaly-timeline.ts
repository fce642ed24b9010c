import { useQuery } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { unwrap } from "../../../api/errors";
import { fleetKeys } from "./keys";

/** GET /api/v1/fleet/anomaly-timeline: reports and anomalies per UTC day over the last `days`. */
export function useAnomalyTimeline(days: number) {
  return useQuery({
    queryKey: fleetKeys.anomalyTimeline(days),
    queryFn: async () => unwrap(await api.GET("/api/v1/fleet/anomaly-timeline", { params: { query: { days } } })),
  });
}
