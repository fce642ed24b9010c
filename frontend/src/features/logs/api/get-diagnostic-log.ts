import { useQuery } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { unwrap } from "../../../api/errors";
import { logKeys } from "./keys";

/** GET /api/v1/diagnostics/<log_id>: the log as posted, its cells included. */
export function useDiagnosticLog(logId: string) {
  return useQuery({
    queryKey: logKeys.diagnostic(logId),
    queryFn: async () => unwrap(await api.GET("/api/v1/diagnostics/{log_id}", { params: { path: { log_id: logId } } })),
  });
}
