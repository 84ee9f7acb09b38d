"use client";

import { ChatKit, type UseChatKitReturn, useChatKit } from "@openai/chatkit-react";
import { useMemo, useRef } from "react";

import { logout, makeAuthFetch, type Session } from "../lib/auth";
import { chatKitOptions } from "../lib/chatkit-options";

interface ChatProps {
  session: Session;
  onSession: (session: Session | null) => void;
}

export function Chat({ session, onSession }: ChatProps) {
  // ChatKit keeps the fetch it was given: read the session through a ref so a refreshed
  // token is used without rebuilding the widget.
  const sessionRef = useRef(session);
  sessionRef.current = session;
  // The options are built before useChatKit returns its methods: reach them through a ref.
  const methods = useRef<UseChatKitReturn | null>(null);
  const options = useMemo(
    () =>
      chatKitOptions({
        authFetch: makeAuthFetch(() => sessionRef.current, onSession),
        sendCustomAction: async (action, itemId) => {
          await methods.current?.sendCustomAction(action, itemId);
        },
      }),
    [onSession],
  );
  const chatkit = useChatKit(options);
  methods.current = chatkit;

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
      <ChatKit control={chatkit.control} className="chatkit" />
    </main>
  );
}
