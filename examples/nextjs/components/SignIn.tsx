"use client";

import { type FormEvent, useState } from "react";

import { login, register, type Session } from "../lib/auth";

// Sign-in against the backend's own accounts: POST /api/auth/login, or "Create account"
// (POST /api/auth/register first).
export function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(create: boolean) {
    setBusy(true);
    setError(null);
    try {
      if (create) await register(email, password);
      onSignedIn(await login(email, password));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form
      className="sign-in"
      onSubmit={(event: FormEvent<HTMLFormElement>) => {
        event.preventDefault();
        void submit(false);
      }}
    >
      <h1>Sign in</h1>
      <label>
        Email
        <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
      </label>
      <label>
        Password
        <input
          type="password"
          minLength={8}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
      </label>
      {error && <p role="alert">{error}</p>}
      <div className="actions">
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        <button
          type="button"
          disabled={busy}
          onClick={(event) => {
            if (event.currentTarget.form?.reportValidity()) void submit(true);
          }}
        >
          Create account
        </button>
      </div>
    </form>
  );
}
