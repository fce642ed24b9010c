import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router";
import { useLoggedIn } from "../hooks/use-logged-in";

/** The page when logged in; else the login page, which comes back here after. */
export function RequireLogin({ children }: { children: ReactNode }) {
  const loggedIn = useLoggedIn();
  const location = useLocation();
  if (!loggedIn) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return <>{children}</>;
}
