import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../../../api/client";
import { unwrap } from "../../../api/errors";
import type { Alert } from "../../../api/types";
import { alertKeys } from "./keys";

export type AlertAction = "acknowledge" | "resolve";

/** The key of every change to an alert; src/app/query-client.ts says what else it makes stale. */
export const alertMutationKey = [...alertKeys.all, "action"] as const;

/** POST /api/v1/alerts/<id>/acknowledge or /resolve; the alert lists are asked again after. */
export function useAlertAction() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationKey: alertMutationKey,
    mutationFn: async ({ alert, action }: { alert: Alert; action: AlertAction }) => {
      const params = { params: { path: { alert_id: alert.id } } };
      return unwrap(
        action === "acknowledge"
          ? await api.POST("/api/v1/alerts/{alert_id}/acknowledge", params)
          : await api.POST("/api/v1/alerts/{alert_id}/resolve", params),
      );
    },
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: alertKeys.all });
    },
  });
}
