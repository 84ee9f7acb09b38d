import { ChatKit, useChatKit } from "@openai/chatkit-react";
import { type FormEvent, useCallback, useMemo, useRef, useState } from "react";

import {
  loadSession,
  login,
  logout,
  makeAuthFetch,
  register,
  type Session,
  storeSession,
} from "./auth";
import { CHATKIT_DOMAIN_KEY, CHATKIT_URL } from "./config";

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const signIn = useCallback((next: Session | null) => {
    storeSession(next);
    setSession(next);
  }, []);
  if (!session) return <SignIn onSignedIn={signIn} />;
  return <Chat session={session} onSession={signIn} />;
}

function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
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

function Chat({ session, onSession }: { session: Session; onSession: (s: Session | null) => void }) {
  // ChatKit keeps the fetch it was given: read the session through a ref so a refreshed
  // token is used without rebuilding the widget.
  const sessionRef = useRef(session);
  sessionRef.current = session;
  const authFetch = useMemo(() => makeAuthFetch(() => sessionRef.current, onSession), [onSession]);

  const { control } = useChatKit({
    api: { url: CHATKIT_URL, domainKey: CHATKIT_DOMAIN_KEY, fetch: authFetch },
    history: { enabled: true },
    startScreen: { greeting: "What can I help with?" },
    onError: ({ error }) => console.error("ChatKit error", error),
  });

  return (
    <main className="chat">
      <header>
        <span>ChatKit · self-hosted backend</span>
        <button
          type="button"
          onClick={() => {
            void logout(session);
            onSession(null);
          }}
        >
          Sign out
        </button>
      </header>
      <ChatKit control={control} className="chatkit" />
    </main>
  );
}
