import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { BrowserRouter, Navigate, Route, Routes, useLocation } from "react-router";
import { lazy, useSyncExternalStore, type ReactNode } from "react";
import { tokensRead, tokensSubscribe } from "./auth/tokens";
import { ApiError } from "./api/client";
import { Layout } from "./components/Layout";
import { LoginPage } from "./pages/LoginPage";
import { FleetPage } from "./pages/FleetPage";

// The fleet overview is the first page; the others load when visited (a smaller first download and parse).
const VehiclePage = lazy(() => import("./pages/VehiclePage").then((m) => ({ default: m.VehiclePage })));
const CertificatePage = lazy(() => import("./pages/CertificatePage").then((m) => ({ default: m.CertificatePage })));
const LogPage = lazy(() => import("./pages/LogPage").then((m) => ({ default: m.LogPage })));
const CellPage = lazy(() => import("./pages/CellPage").then((m) => ({ default: m.CellPage })));
const AlertsPage = lazy(() => import("./pages/AlertsPage").then((m) => ({ default: m.AlertsPage })));
const NotFoundPage = lazy(() => import("./pages/NotFoundPage").then((m) => ({ default: m.NotFoundPage })));

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 30_000,
      refetchOnWindowFocus: false,
      // A 4xx will not get better by asking again.
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
    },
  },
});

function useLoggedIn(): boolean {
  return useSyncExternalStore(tokensSubscribe, () => tokensRead() !== null);
}

function RequireLogin({ children }: { children: ReactNode }) {
  const loggedIn = useLoggedIn();
  const location = useLocation();
  if (!loggedIn) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return <>{children}</>;
}

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <Routes>
          <Route path="/login" element={<LoginPage />} />
          <Route
            element={
              <RequireLogin>
                <Layout />
              </RequireLogin>
            }
          >
            <Route index element={<FleetPage />} />
            <Route path="vehicles/:vehicleId" element={<VehiclePage />} />
            <Route path="vehicles/:vehicleId/certificate" element={<CertificatePage />} />
            <Route path="vehicles/:vehicleId/cells/:cellId" element={<CellPage />} />
            <Route path="logs/:logId" element={<LogPage />} />
            <Route path="alerts" element={<AlertsPage />} />
            <Route path="*" element={<NotFoundPage />} />
          </Route>
        </Routes>
      </BrowserRouter>
    </QueryClientProvider>
  );
}
