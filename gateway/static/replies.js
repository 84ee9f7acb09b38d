// Following a reply that is still being written, wherever it is written: the conversations
// service's events stream sends the text so far, then each new piece, then the final message.
// A dropped connection resumes after the last character received (Last-Event-ID), so no text
// is shown twice; Stop asks the server to end the reply (it ends `interrupted`).

import { ApiError, json, request } from "./api.js";
import { readEvents } from "./sse.js";

const RETRY_MS = 1000;
const RETRY_MAX_MS = 10000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function messagePath(conversationId, messageId) {
  return `/api/chat/conversations/${encodeURIComponent(conversationId)}/messages/${encodeURIComponent(messageId)}`;
}

/** Characters as the server counts them (code points), for Last-Event-ID. */
export function characterCount(text) {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/**
 * Follows a reply until its final state: onDelta(text) for each new piece after `received`
 * characters, onDone(message) once at the end. Resolves true when done, false when aborted;
 * throws ApiError when the server refuses (404: not this user's, or not there).
 */
export async function followReply({ conversationId, messageId, received, signal, onDelta, onDone }) {
  const path = `${messagePath(conversationId, messageId)}/events`;
  let delay = RETRY_MS;
  while (!signal.aborted) {
    try {
      const response = await request(path, {
        headers: { Accept: "text/event-stream", "Last-Event-ID": String(received) },
        signal,
      });
      for await (const { event, data, id } of readEvents(response.body)) {
        if (event === "delta") {
          onDelta(typeof data === "object" ? (data.text ?? "") : "");
          received = id === null ? received : Number(id);
          delay = RETRY_MS;
        } else if (event === "done") {
          onDone(data);
          return true;
        }
      }
    } catch (error) {
      if (signal.aborted) return false;
      if (error instanceof ApiError && error.status !== 429 && error.status < 500) throw error;
    }
    // The stream ended early or the network blinked: resume where it left off.
    await sleep(delay);
    delay = Math.min(delay * 2, RETRY_MAX_MS);
  }
  return false;
}

/** Asks the server to stop a reply; resolves to the stored message (`interrupted` or final). */
export function cancelReply(conversationId, messageId) {
  return json(`${messagePath(conversationId, messageId)}/cancel`, { method: "POST" });
}
