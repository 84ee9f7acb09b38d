// Entity tags: typing "@" in the composer searches the user's own conversations (REST
// `GET /api/chat/conversations`); a chosen tag reaches the backend as an `input_tag`
// with its title and `data`, which the model can read.
import type { Entity } from "@openai/chatkit-react";

import { API_BASE } from "./config";

interface Conversation {
  id: string;
  title: string | null;
}

export function makeTagSearch(authFetch: typeof fetch): (query: string) => Promise<Entity[]> {
  return async (query) => {
    const response = await authFetch(`${API_BASE}/api/chat/conversations?limit=100`);
    if (!response.ok) return [];
    const { items } = (await response.json()) as { items: Conversation[] };
    const wanted = query.trim().toLowerCase();
    return items
      .filter((c) => (c.title ?? "").toLowerCase().includes(wanted))
      .slice(0, 10)
      .map((c) => ({
        id: c.id,
        title: c.title || "Untitled conversation",
        group: "Conversations",
        data: { conversation_id: c.id },
      }));
  };
}
