// The alerts feature's query keys: every cached alert answer sits under alertKeys.all.
import type { AlertFilters } from "../../../api/types";

export const alertKeys = {
  all: ["alerts"] as const,
  lists: () => [...alertKeys.all, "list"] as const,
  list: (filters: AlertFilters) => [...alertKeys.lists(), filters] as const,
};
