// The logs feature's query keys (a log's diagnostic data and its report): every one sits under logKeys.all.
export const logKeys = {
  all: ["logs"] as const,
  report: (logId: string) => [...logKeys.all, "report", logId] as const,
  diagnostic: (logId: string) => [...logKeys.all, "diagnostic", logId] as const,
  vehicleReports: (vehicleId: string) => [...logKeys.all, "vehicle-reports", vehicleId] as const,
};
