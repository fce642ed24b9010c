// The certificate feature's query keys: every cached certificate answer sits under certificateKeys.all.
export const certificateKeys = {
  all: ["certificate"] as const,
  reportsSince: (vehicleId: string, since: string) => [...certificateKeys.all, "reports-since", vehicleId, since] as const,
  latestReport: (vehicleId: string) => [...certificateKeys.all, "latest-report", vehicleId] as const,
};
