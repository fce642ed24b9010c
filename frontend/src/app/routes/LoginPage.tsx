import { useLocation, useNavigate } from "react-router";
import { LoginForm } from "../../features/auth/components/LoginForm";

export function LoginPage() {
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from ?? "/";
  return (
    <main id="main" className="login">
      <h1>Battery health</h1>
      <LoginForm onLoggedIn={() => navigate(from, { replace: true })} />
    </main>
  );
}
