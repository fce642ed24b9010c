// The cells feature's query keys: every cached cell answer sits under cellKeys.all.
export const cellKeys = {
  all: ["cells"] as const,
  ranking: (vehicleId: string, windowDays: number) => [...cellKeys.all, "ranking", vehicleId, windowDays] as const,
  history: (vehicleId: string, cellId: string, since: string) => [...cellKeys.all, "history", vehicleId, cellId, since] as const,
};
