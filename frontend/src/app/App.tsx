import { QueryClientProvider } from "@tanstack/react-query";
import { lazy } from "react";
import { BrowserRouter, Route, Routes } from "react-router";
import { RequireLogin } from "../features/auth/components/RequireLogin";
import { Layout } from "./Layout";
import { createQueryClient } from "./query-client";
import { FleetPage } from "./routes/FleetPage";
import { LoginPage } from "./routes/LoginPage";

// The fleet overview is the first page; the others load when visited (a smaller first download and parse).
const VehiclePage = lazy(() => import("./routes/VehiclePage").then((m) => ({ default: m.VehiclePage })));
const CertificatePage = lazy(() => import("./routes/CertificatePage").then((m) => ({ default: m.CertificatePage })));
const LogPage = lazy(() => import("./routes/LogPage").then((m) => ({ default: m.LogPage })));
const CellPage = lazy(() => import("./routes/CellPage").then((m) => ({ default: m.CellPage })));
const AlertsPage = lazy(() => import("./routes/AlertsPage").then((m) => ({ default: m.AlertsPage })));
const NotFoundPage = lazy(() => import("./routes/NotFoundPage").then((m) => ({ default: m.NotFoundPage })));

const queryClient = createQueryClient();

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
