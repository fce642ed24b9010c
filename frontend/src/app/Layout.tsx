import { Suspense } from "react";
import { NavLink, Outlet, useNavigate } from "react-router";
import { useQueryClient } from "@tanstack/react-query";
import { Loading } from "../components/Status";
import { logout } from "../features/auth/api/login";

export function Layout() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar no-print">
        <span className="brand">Battery health</span>
        <nav aria-label="Main">
          <NavLink to="/" end>
            Fleet
          </NavLink>
          <NavLink to="/alerts">Alerts</NavLink>
        </nav>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            logout();
            queryClient.clear();
            navigate("/login");
          }}
        >
          Log out
        </button>
      </header>
      <main id="main">
        <Suspense fallback={<Loading what="the page" />}>
          <Outlet />
        </Suspense>
      </main>
    </>
  );
}
