// The open conversation: its history, sending with a streamed reply, and following a reply
// that is still being written elsewhere (another tab, a dropped connection) by polling.

import { ApiError, describeError, json, newIdempotencyKey, request } from "./api.js";
import { displayTitle } from "./conversations.js";
import {
  appendText,
  mergeMessages,
  messageItem,
  setAction,
  setNote,
  updateMessageItem,
} from "./messages.js";
import { readEvents } from "./sse.js";

const PAGE_SIZE = 50;
const POLL_MS = 1000;
const POLL_MAX_MS = 5000;
const FOLLOW_MAX_MS = 15 * 60 * 1000;
const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class ChatView {
  constructor({ announce, onConversationChanged, onConversationGone }) {
    this.announce = announce;
    this.onConversationChanged = onConversationChanged;
    this.onConversationGone = onConversationGone;
    this.messages = $("messages");
    this.error = $("chat-error");
    this.input = $("composer-input");
    this.sendButton = $("send-button");
    this.conversation = null;
    this.generation = 0; // bumped on every open/close: late answers for an old view are dropped
    this.sending = false;
    this.following = false;
    $("load-earlier").addEventListener("click", () => this.loadEarlier());
  }

  get id() {
    return this.conversation?.id ?? null;
  }

  close() {
    this.generation += 1;
    this.conversation = null;
    this.following = false;
    this.messages.replaceChildren();
    this.error.textContent = "";
    $("chat-title").textContent = "No conversation open";
    $("chat-actions").hidden = true;
    $("composer").hidden = true;
    $("load-earlier").hidden = true;
    $("chat-empty").hidden = false;
    this.messages.hidden = true;
  }

  async open(id) {
    this.close();
    const generation = this.generation;
    $("chat-title").textContent = "Loading…";
    try {
      const [conversation, page] = await Promise.all([
        json(`/api/chat/conversations/${encodeURIComponent(id)}`),
        json(`/api/chat/conversations/${encodeURIComponent(id)}/messages?limit=${PAGE_SIZE}`),
      ]);
      if (generation !== this.generation) return false;
      this.conversation = conversation;
      this.showTitle();
      $("chat-empty").hidden = true;
      this.messages.hidden = false;
      $("chat-actions").hidden = false;
      $("composer").hidden = false;
      mergeMessages(this.messages, page.items);
      $("load-earlier").hidden = !page.has_more;
      this.scrollToEnd(true);
      this.followIfWriting();
      return true;
    } catch (error) {
      if (generation !== this.generation) return false;
      $("chat-title").textContent = "No conversation open";
      if (error instanceof ApiError && error.status === 404) this.onConversationGone(id);
      this.error.textContent = describeError(error);
      return false;
    }
  }

  showTitle() {
    const title = displayTitle(this.conversation);
    $("chat-title").textContent = title;
    document.title = `${title} – Chat`;
  }

  setConversation(conversation) {
    if (conversation.id !== this.id) return;
    this.conversation = conversation;
    this.showTitle();
  }

  async loadEarlier() {
    const first = this.messages.querySelector("li[data-id]");
    if (!first || !this.id) return;
    const generation = this.generation;
    const button = $("load-earlier");
    button.disabled = true;
    try {
      const query = new URLSearchParams({ limit: String(PAGE_SIZE), before: first.dataset.id });
      const page = await json(`/api/chat/conversations/${encodeURIComponent(this.id)}/messages?${query}`);
      if (generation !== this.generation) return;
      const older = document.createElement("ol");
      mergeMessages(older, page.items);
      this.messages.prepend(...older.children);
      button.hidden = !page.has_more;
    } catch (error) {
      if (generation === this.generation) this.error.textContent = describeError(error);
    } finally {
      button.disabled = false;
    }
  }

  scrollToEnd(force = false) {
    const list = this.messages;
    const nearEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 120;
    if (force || nearEnd) list.scrollTop = list.scrollHeight;
  }

  // ---- sending -------------------------------------------------------------------------

  /** Sends the composer's text; the reply streams into a new message. */
  async submit() {
    const content = this.input.value;
    if (!content.trim() || !this.id) return;
    if (this.sending) {
      this.announce("Wait for the current reply to finish.");
      return;
    }
    this.input.value = "";
    const item = messageItem({ role: "user", content, status: "pending" });
    this.messages.append(item);
    this.scrollToEnd(true);
    // One key per message: a retry of this same message can never run a second turn.
    await this.send(content, newIdempotencyKey(), item);
  }

  async send(content, key, userItem) {
    const conversationId = this.id;
    const generation = this.generation;
    this.sending = true;
    this.sendButton.disabled = true;
    this.error.textContent = "";
    updateMessageItem(userItem, { role: "user", content, status: "pending" });
    setNote(userItem, "");
    setAction(userItem, null);
    const firstOfConversation = !this.conversation?.title;
    const turn = { userItem, assistantItem: null, finished: false, generation, firstOfConversation };
    try {
      const response = await request(
        `/api/chat/conversations/${encodeURIComponent(conversationId)}/messages`,
        {
          method: "POST",
          body: { content },
          headers: { Accept: "text/event-stream", "Idempotency-Key": key },
        },
      );
      if ((response.headers.get("Content-Type") ?? "").includes("text/event-stream")) {
        for await (const { event, data } of readEvents(response.body)) {
          this.onEvent(turn, event, data);
        }
      } else {
        this.onJsonTurn(turn, await response.json());
      }
      if (!turn.finished) this.lostStream(turn, null);
    } catch (error) {
      if (turn.userItem.dataset.id) this.lostStream(turn, error);
      else this.notSent(turn, content, key, error);
    } finally {
      this.sending = false;
      this.sendButton.disabled = false;
      this.onConversationChanged(conversationId);
    }
  }

  onEvent(turn, event, data) {
    const visible = turn.generation === this.generation;
    if (event === "user_message") {
      updateMessageItem(turn.userItem, data);
      // The first message names the conversation: show that now, not after the reply.
      if (turn.firstOfConversation) this.onConversationChanged(data.conversation_id);
    } else if (event === "assistant_started") {
      turn.assistantItem = messageItem(data);
      this.messages.append(turn.assistantItem);
      if (visible) this.announce("The assistant is replying.");
    } else if (event === "delta") {
      turn.assistantItem ??= this.messages.appendChild(
        messageItem({ role: "assistant", content: "", status: "in_progress" }),
      );
      appendText(turn.assistantItem, typeof data === "object" ? (data.text ?? "") : "");
    } else if (event === "tool_calls" && data?.assistant_message) {
      this.placeAssistant(turn, data.assistant_message); // the reply so far, asking for tools
    } else if (event === "tool_result" && data?.message) {
      this.messages.append(messageItem(data.message));
    } else if (event === "assistant_message") {
      this.placeAssistant(turn, data);
      turn.finished = true;
      if (visible) this.announce("The assistant has replied.");
    } else if (event === "error") {
      const stored = typeof data === "object" ? data.assistant_message : null;
      const detail = typeof data === "object" ? data.detail : String(data);
      if (stored) this.placeAssistant(turn, stored);
      const why = detail ? `The reply failed: ${detail}.`.replace(/\.\.$/, ".") : "The reply failed.";
      if (turn.assistantItem) setNote(turn.assistantItem, why);
      else if (visible) this.error.textContent = why;
      turn.finished = true;
      if (visible) this.announce(why);
    }
    if (visible) this.scrollToEnd();
  }

  placeAssistant(turn, message) {
    if (turn.assistantItem) updateMessageItem(turn.assistantItem, message);
    else turn.assistantItem = this.messages.appendChild(messageItem(message));
  }

  onJsonTurn(turn, data) {
    // A repeated Idempotency-Key may be answered with the stored turn as plain JSON.
    if (data.user_message) updateMessageItem(turn.userItem, data.user_message);
    if (data.assistant_message) this.placeAssistant(turn, data.assistant_message);
    turn.finished = true;
  }

  /** The message was stored but the stream broke: the server still has the truth, poll it. */
  lostStream(turn, error) {
    if (turn.generation !== this.generation) return;
    const why = error ? describeError(error) : "The connection closed early.";
    const item = turn.assistantItem ?? turn.userItem;
    setNote(item, `${why} Checking for the rest of the reply…`, { transient: true });
    if (turn.assistantItem?.dataset.status === "in_progress" || !turn.assistantItem) {
      this.follow(true);
    }
  }

  /** Nothing was stored: say why, and offer to retry with the same key (never a double). */
  notSent(turn, content, key, error) {
    const item = turn.userItem;
    updateMessageItem(item, { role: "user", content, status: "unsent" });
    const text = describeError(error);
    setNote(item, text);
    if (turn.generation === this.generation) this.announce(`Message not sent. ${text}`);
    if (error instanceof ApiError && [400, 404, 409, 413, 422].includes(error.status)) {
      setAction(item, "Edit and resend", () => {
        item.remove();
        this.input.value = content;
        this.input.focus();
      });
      return;
    }
    const retry = setAction(item, "Retry", () => {
      if (!this.sending) this.send(content, key, item);
    });
    const wait = error instanceof ApiError && error.status === 429 ? error.retryAfter : null;
    if (wait) {
      // Well-behaved: the button comes back when the server said we may try again.
      retry.disabled = true;
      setTimeout(() => {
        retry.disabled = false;
        setNote(item, "You can retry now.");
      }, wait * 1000);
    }
  }

  // ---- following a reply written elsewhere ------------------------------------------------

  followIfWriting() {
    if (this.messages.querySelector('li[data-status="in_progress"]')) this.follow(false);
  }

  /** Polls `messages?after=<last message before the unfinished one>` until nothing is in progress. */
  async follow(afterDrop) {
    if (this.following) return;
    this.following = true;
    const generation = this.generation;
    const giveUpAt = Date.now() + FOLLOW_MAX_MS;
    let delay = POLL_MS;
    try {
      while (generation === this.generation) {
        const open = this.messages.querySelector('li[data-status="in_progress"]');
        if (!open && !afterDrop) break;
        if (Date.now() > giveUpAt) {
          if (open) setNote(open, "This reply has not finished yet. Reload the page to check again.");
          return;
        }
        try {
          const changed = await this.pollOnce(open);
          afterDrop = false;
          // A reply that stopped moving is checked less often (its writer may be gone).
          delay = changed ? POLL_MS : Math.min(delay * 1.5, POLL_MAX_MS);
        } catch (error) {
          if (generation !== this.generation) return;
          if (error instanceof ApiError && error.status === 404) {
            this.error.textContent = describeError(error);
            return;
          }
          delay = Math.min(delay * 2, POLL_MAX_MS);
        }
        if (afterDrop || this.messages.querySelector('li[data-status="in_progress"]')) {
          await sleep(delay);
        }
      }
      if (generation === this.generation) {
        for (const note of this.messages.querySelectorAll(".message-note[data-transient]")) {
          setNote(note.closest("li"), "");
        }
        this.announce("The reply has finished.");
        this.onConversationChanged(this.id);
      }
    } finally {
      if (generation === this.generation) this.following = false;
    }
  }

  async pollOnce(open) {
    const base = `/api/chat/conversations/${encodeURIComponent(this.id)}/messages`;
    let previous = open?.previousElementSibling;
    while (previous && !previous.dataset.id) previous = previous.previousElementSibling;
    const anchor = open ? previous : [...this.messages.querySelectorAll("li[data-id]")].at(-1);
    const query = new URLSearchParams({ limit: "100" });
    if (anchor?.dataset.id) query.set("after", anchor.dataset.id);
    const generation = this.generation;
    const before = this.messages.textContent + this.messages.querySelectorAll("li").length;
    const page = await json(`${base}?${query}`);
    if (generation !== this.generation) return false;
    mergeMessages(this.messages, page.items);
    this.scrollToEnd();
    return before !== this.messages.textContent + this.messages.querySelectorAll("li").length;
  }
}
