import { useQuery } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { unwrap } from "../../../api/errors";
import type { Report } from "../../../api/types";
import { cursorOf, withCursor } from "../../../lib/cursor";
import { certificateKeys } from "./keys";

/** Every completed report of the vehicle since `since` (all pages). */
async function reportsSince(vehicleId: string, since: string): Promise<Report[]> {
  const reports: Report[] = [];
  let cursor: string | null = null;
  do {
    const page = unwrap(
      await api.GET("/api/v1/vehicles/{vehicle_id}/reports", {
        params: { path: { vehicle_id: vehicleId }, query: { since, limit: 500, ...withCursor(cursor) } },
      }),
    );
    reports.push(...page.results);
    cursor = cursorOf(page.next);
  } while (cursor);
  return reports;
}

/** The reports of the certificate's window. */
export function useReportsSince(vehicleId: string, since: string) {
  return useQuery({ queryKey: certificateKeys.reportsSince(vehicleId, since), queryFn: () => reportsSince(vehicleId, since) });
}

/** The vehicle's newest report (its rules version and profile), or null before its first (a query's data
 *  cannot be undefined). */
export function useLatestReport(vehicleId: string) {
  return useQuery({
    queryKey: certificateKeys.latestReport(vehicleId),
    queryFn: async (): Promise<Report | null> =>
      unwrap(await api.GET("/api/v1/vehicles/{vehicle_id}/reports", { params: { path: { vehicle_id: vehicleId }, query: { limit: 1 } } })).results[0] ??
      null,
  });
}
