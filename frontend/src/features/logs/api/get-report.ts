import { useQuery } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { unwrap } from "../../../api/errors";
import { logKeys } from "./keys";

/** GET /api/v1/reports/<log_id>: the report, its failure, or "processing" (202). */
export function useReport(logId: string) {
  return useQuery({
    queryKey: logKeys.report(logId),
    queryFn: async () => unwrap(await api.GET("/api/v1/reports/{log_id}", { params: { path: { log_id: logId } } })),
  });
}
