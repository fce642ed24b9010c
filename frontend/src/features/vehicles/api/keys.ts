// The vehicles feature's query keys: every cached vehicle answer sits under vehicleKeys.all.
import type { VehicleFilters } from "../../../api/types";

export const vehicleKeys = {
  all: ["vehicles"] as const,
  lists: () => [...vehicleKeys.all, "list"] as const,
  list: (filters: VehicleFilters) => [...vehicleKeys.lists(), filters] as const,
  details: () => [...vehicleKeys.all, "detail"] as const,
  detail: (vehicleId: string) => [...vehicleKeys.details(), vehicleId] as const,
  health: (vehicleId: string) => [...vehicleKeys.all, "health", vehicleId] as const,
};
