"use client";

import { ChatKit, type UseChatKitReturn, useChatKit } from "@openai/chatkit-react";
import { useEffect, useMemo, useRef, useState } from "react";

import { logout, makeAuthFetch, type Session } from "../lib/auth";
import { chatKitOptions } from "../lib/chatkit-options";
import { loadUnits, makeEffectHandler, type Units } from "../lib/effects";

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
  // The weather unit last chosen on a weather card (its `weather.units` client effect).
  const [units, setUnits] = useState<Units | null>(null);
  useEffect(() => setUnits(loadUnits()), []);
  const options = useMemo(
    () =>
      chatKitOptions({
        authFetch: makeAuthFetch(() => sessionRef.current, onSession),
        sendCustomAction: async (action, itemId) => {
          await methods.current?.sendCustomAction(action, itemId);
        },
        onEffect: makeEffectHandler(setUnits),
      }),
    [onSession],
  );
  const chatkit = useChatKit(options);
  methods.current = chatkit;

  return (
    <main className="chat">
      <header>
        <span>ChatKit · self-hosted backend</span>
        {units && <span className="units">Weather in °{units}</span>}
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
