import { useQuery } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { unwrap } from "../../../api/errors";
import { webhookKeys } from "./keys";

/** GET /api/v1/webhooks: the fleet's webhooks (a fleet has few: the first 100). */
export function useWebhooks() {
  return useQuery({
    queryKey: webhookKeys.list(),
    queryFn: async () => unwrap(await api.GET("/api/v1/webhooks", { params: { query: { limit: 100 } } })),
  });
}
