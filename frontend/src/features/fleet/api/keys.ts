// The fleet feature's query keys: every cached fleet answer sits under fleetKeys.all.
import type { FleetWindow } from "../../../api/types";

export const fleetKeys = {
  all: ["fleet"] as const,
  summaries: () => [...fleetKeys.all, "summary"] as const,
  summary: (window: FleetWindow) => [...fleetKeys.summaries(), window] as const,
  anomalyTimeline: (days: number) => [...fleetKeys.all, "anomaly-timeline", days] as const,
};
