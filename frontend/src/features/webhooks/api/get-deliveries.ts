import { useQuery } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { unwrap } from "../../../api/errors";
import { webhookKeys } from "./keys";

/** GET /api/v1/webhooks/<id>/deliveries, newest first (the last 50), asked for only when shown. */
export function useDeliveries(webhookId: string, enabled: boolean) {
  return useQuery({
    queryKey: webhookKeys.deliveries(webhookId),
    enabled,
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/webhooks/{webhook_id}/deliveries", { params: { path: { webhook_id: webhookId }, query: { limit: 50 } } })),
  });
}
