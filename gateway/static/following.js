// Following a reply that is still being written elsewhere (a reload, another tab or device, a
// send whose stream broke): through its events stream when it has an id, else by polling.

import { ApiError, describeError, json } from "./api.js";
import { appendText, mergeMessages, setNote, textOf, updateMessageItem } from "./messages.js";
import { characterCount, followReply } from "./replies.js";

const POLL_MS = 1000;
const POLL_MAX_MS = 5000;
const FOLLOW_MAX_MS = 15 * 60 * 1000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Streams a reply still being written into its item, from where the item's text ends. */
export async function attachReply(view, item) {
  if (view.attached) return;
  const generation = view.generation;
  const controller = new AbortController();
  view.attached = { item, controller };
  view.showStop();
  try {
    const done = await followReply({
      conversationId: view.id,
      messageId: item.dataset.id,
      received: characterCount(textOf(item)),
      signal: controller.signal,
      onDelta: (text) => {
        appendText(item, text);
        view.scrollToEnd();
      },
      onDone: (message) => updateMessageItem(item, message),
    });
    if (done && generation === view.generation) {
      view.announce("The reply has finished.");
      view.onConversationChanged(view.id);
    }
  } catch {
    // No events stream for it (gone, or an older server): polling still finds the end.
    if (generation === view.generation) view.follow(false);
  } finally {
    if (view.attached?.controller === controller) view.attached = null;
    view.showStop();
  }
}

/** Polls `messages?after=<last message before the unfinished one>` until nothing is in progress. */
export async function pollReplies(view, afterDrop) {
  if (view.following) return;
  view.following = true;
  const generation = view.generation;
  const giveUpAt = Date.now() + FOLLOW_MAX_MS;
  let delay = POLL_MS;
  try {
    while (generation === view.generation) {
      const open = view.messages.querySelector('li[data-status="in_progress"]');
      if (!open && !afterDrop) break;
      if (Date.now() > giveUpAt) {
        if (open) setNote(open, "This reply has not finished yet. Reload the page to check again.");
        return;
      }
      try {
        const changed = await pollOnce(view, open);
        afterDrop = false;
        // A reply that stopped moving is checked less often (its writer may be gone).
        delay = changed ? POLL_MS : Math.min(delay * 1.5, POLL_MAX_MS);
      } catch (error) {
        if (generation !== view.generation) return;
        if (error instanceof ApiError && error.status === 404) {
          view.error.textContent = describeError(error);
          return;
        }
        delay = Math.min(delay * 2, POLL_MAX_MS);
      }
      if (afterDrop || view.messages.querySelector('li[data-status="in_progress"]')) {
        await sleep(delay);
      }
    }
    if (generation === view.generation) {
      for (const note of view.messages.querySelectorAll(".message-note[data-transient]")) {
        setNote(note.closest("li"), "");
      }
      view.announce("The reply has finished.");
      view.onConversationChanged(view.id);
    }
  } finally {
    if (generation === view.generation) view.following = false;
  }
}

async function pollOnce(view, open) {
  const base = `/api/chat/conversations/${encodeURIComponent(view.id)}/messages`;
  let previous = open?.previousElementSibling;
  while (previous && !previous.dataset.id) previous = previous.previousElementSibling;
  const anchor = open ? previous : [...view.messages.querySelectorAll("li[data-id]")].at(-1);
  const query = new URLSearchParams({ limit: "100" });
  if (anchor?.dataset.id) query.set("after", anchor.dataset.id);
  const generation = view.generation;
  const before = view.messages.textContent + view.messages.querySelectorAll("li").length;
  const page = await json(`${base}?${query}`);
  if (generation !== view.generation) return false;
  mergeMessages(view.messages, page.items);
  view.scrollToEnd();
  return before !== view.messages.textContent + view.messages.querySelectorAll("li").length;
}
