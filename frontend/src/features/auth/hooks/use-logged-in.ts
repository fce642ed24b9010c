import { useSyncExternalStore } from "react";
import { tokensRead, tokensSubscribe } from "../../../lib/tokens";

export function useLoggedIn(): boolean {
  return useSyncExternalStore(tokensSubscribe, () => tokensRead() !== null);
}
