// The app's one QueryClient. A feature's mutation asks its own queries again; what a change in one feature
// makes stale in another is said here, where features meet (they do not import each other).
import { MutationCache, QueryClient, matchMutation, type QueryKey } from "@tanstack/react-query";
import { ApiError } from "../api/errors";
import { alertMutationKey } from "../features/alerts/api/act-on-alert";
import { fleetKeys } from "../features/fleet/api/keys";

const STALE_AFTER: { mutationKey: QueryKey; stale: QueryKey[] }[] = [
  // Acknowledging or resolving an alert changes the fleet summary's open alerts.
  { mutationKey: alertMutationKey, stale: [fleetKeys.summaries()] },
];

export function createQueryClient(): QueryClient {
  return new QueryClient({
    mutationCache: new MutationCache({
      onSuccess: (_data, _variables, _onMutateResult, mutation, context) => {
        for (const rule of STALE_AFTER) {
          if (!matchMutation({ mutationKey: rule.mutationKey }, mutation)) continue;
          for (const queryKey of rule.stale) void context.client.invalidateQueries({ queryKey });
        }
      },
    }),
    defaultOptions: {
      queries: {
        staleTime: 30_000,
        refetchOnWindowFocus: false,
        // A 4xx will not get better by asking again.
        retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
      },
    },
  });
}
