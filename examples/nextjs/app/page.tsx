"use client";

import { useCallback, useEffect, useState } from "react";

import { Chat } from "../components/Chat";
import { SignIn } from "../components/SignIn";
import { loadSession, type Session, storeSession } from "../lib/auth";

export default function ChatPage() {
  // undefined until the browser's stored session is read (the server render has none).
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  useEffect(() => setSession(loadSession()), []);
  const signIn = useCallback((next: Session | null) => {
    storeSession(next);
    setSession(next);
  }, []);
  if (session === undefined) return null;
  if (!session) return <SignIn onSignedIn={signIn} />;
  return <Chat session={session} onSession={signIn} />;
}
