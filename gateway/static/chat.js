// The open conversation (or a draft that becomes one with its first message): its history,
// sending with a streamed reply, following a reply still being written elsewhere (a reload,
// another tab or device) through its events stream, and Stop.

import { ApiError, describeError, json, newIdempotencyKey, request } from "./api.js";
import { displayTitle } from "./conversations.js";
import { attachReply, pollReplies } from "./following.js";
import {
  appendText,
  mergeMessages,
  messageItem,
  setAction,
  setNote,
  updateMessageItem,
} from "./messages.js";
import { cancelReply } from "./replies.js";
import { readEvents } from "./sse.js";

const PAGE_SIZE = 50;
const $ = (id) => document.getElementById(id);

export class ChatView {
  constructor({ announce, onConversationChanged, onConversationGone, onConversationCreated }) {
    this.announce = announce;
    this.onConversationChanged = onConversationChanged;
    this.onConversationGone = onConversationGone;
    this.onConversationCreated = onConversationCreated;
    this.messages = $("messages");
    this.error = $("chat-error");
    this.input = $("composer-input");
    this.sendButton = $("send-button");
    this.stopButton = $("stop-button");
    this.conversation = null;
    this.draft = false; // an empty chat whose first message creates the conversation
    this.generation = 0; // bumped on every open/close: late answers for an old view are dropped
    this.sending = false;
    this.turn = null; // this page's own turn while it streams
    this.attached = null; // {item, controller}: a reply followed through its events stream
    this.following = false;
    $("load-earlier").addEventListener("click", () => this.loadEarlier());
    this.stopButton.addEventListener("click", () => this.stop());
  }

  get id() {
    return this.conversation?.id ?? null;
  }

  close() {
    this.generation += 1;
    this.conversation = null;
    this.draft = false;
    this.following = false;
    // Only this page stops listening: the reply goes on on the server.
    this.attached?.controller.abort();
    this.attached = null;
    this.showStop();
    this.messages.replaceChildren();
    this.error.textContent = "";
    $("chat-title").textContent = "No conversation open";
    $("chat-actions").hidden = true;
    $("composer").hidden = true;
    $("load-earlier").hidden = true;
    $("chat-empty").hidden = false;
    $("chat-empty").firstElementChild.textContent = "Pick a conversation or start a new one.";
    this.messages.hidden = true;
  }

  /** An empty chat, ready to type: the first message creates the conversation. */
  openDraft() {
    this.close();
    this.draft = true;
    $("chat-title").textContent = "New conversation";
    document.title = "Chat";
    $("chat-empty").firstElementChild.textContent = "Write a message to start a conversation.";
    $("composer").hidden = false;
  }

  async createFromDraft() {
    const generation = this.generation;
    try {
      const conversation = await json("/api/chat/conversations", { method: "POST", body: {} });
      if (generation !== this.generation) return false;
      this.draft = false;
      this.conversation = conversation;
      this.showTitle();
      $("chat-actions").hidden = false;
      $("chat-empty").hidden = true;
      this.messages.hidden = false;
      this.onConversationCreated(conversation);
      return true;
    } catch (error) {
      if (generation === this.generation) {
        this.error.textContent = `Couldn't start a conversation. ${describeError(error)}`;
      }
      return false;
    }
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

  messagesPath(query) {
    return `/api/chat/conversations/${encodeURIComponent(this.id)}/messages?${query}`;
  }

  async loadEarlier() {
    const first = this.messages.querySelector("li[data-id]");
    if (!first || !this.id) return;
    const button = $("load-earlier");
    const page = await this.loadPage(button, { before: first.dataset.id }, (older) =>
      this.messages.prepend(...older),
    );
    if (page) button.hidden = !page.has_more;
  }

  /**
   * A page of messages beside the shown ones (`cursor`: `before` or `after` a message id),
   * put in place by `place(items)` while `button` is disabled. The page, or null when it
   * failed (the error is shown) or another conversation opened meanwhile.
   */
  async loadPage(button, cursor, place) {
    const generation = this.generation;
    button.disabled = true;
    try {
      const query = new URLSearchParams({ limit: String(PAGE_SIZE), ...cursor });
      const page = await json(this.messagesPath(query));
      if (generation !== this.generation) return null;
      const items = document.createElement("ol");
      mergeMessages(items, page.items);
      place([...items.children]);
      return page;
    } catch (error) {
      if (generation === this.generation) this.error.textContent = describeError(error);
      return null;
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
    if (!content.trim() || !(this.id || this.draft)) return;
    if (this.sending) {
      this.announce("Wait for the current reply to finish.");
      return;
    }
    if (this.draft) {
      this.sending = true; // no second conversation from a double Enter
      const created = await this.createFromDraft();
      this.sending = false;
      if (!created) return;
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
    const controller = new AbortController();
    const turn = {
      userItem,
      assistantItem: null,
      finished: false,
      stopRequested: false,
      generation,
      firstOfConversation,
      controller,
    };
    this.turn = turn;
    this.showStop();
    try {
      const response = await request(
        `/api/chat/conversations/${encodeURIComponent(conversationId)}/messages`,
        {
          method: "POST",
          body: { content },
          headers: { Accept: "text/event-stream", "Idempotency-Key": key },
          signal: controller.signal,
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
      if (turn.finished) {
        // Stopped here: the stream was let go once the reply had ended.
      } else if (turn.userItem.dataset.id) this.lostStream(turn, error);
      else this.notSent(turn, content, key, error);
    } finally {
      this.sending = false;
      this.sendButton.disabled = false;
      if (this.turn === turn) this.turn = null;
      this.showStop();
      this.onConversationChanged(conversationId);
    }
  }

  onEvent(turn, event, data) {
    if (turn.generation !== this.generation) {
      // Another conversation is open now: its view is not this turn's to draw in.
      if (event === "assistant_message" || event === "error") turn.finished = true;
      return;
    }
    if (event === "user_message") {
      updateMessageItem(turn.userItem, data);
      // The first message names the conversation: show that now, not after the reply.
      if (turn.firstOfConversation) this.onConversationChanged(data.conversation_id);
    } else if (event === "assistant_started") {
      turn.assistantItem = messageItem(data);
      this.messages.append(turn.assistantItem);
      this.announce("The assistant is replying.");
      if (turn.stopRequested) this.stop();
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
      this.announce("The assistant has replied.");
    } else if (event === "error") {
      const stored = typeof data === "object" ? data.assistant_message : null;
      const detail = typeof data === "object" ? data.detail : String(data);
      if (stored) this.placeAssistant(turn, stored);
      const why = detail ? `The reply failed: ${detail}.`.replace(/\.\.$/, ".") : "The reply failed.";
      if (turn.assistantItem) setNote(turn.assistantItem, why);
      else this.error.textContent = why;
      turn.finished = true;
      this.announce(why);
    }
    this.scrollToEnd();
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

  /** The message was stored but the stream broke: the server still has the truth, follow it. */
  lostStream(turn, error) {
    if (turn.generation !== this.generation) return;
    const why = error ? describeError(error) : "The connection closed early.";
    const item = turn.assistantItem ?? turn.userItem;
    setNote(item, `${why} Checking for the rest of the reply…`, { transient: true });
    const reply = turn.assistantItem;
    if (reply?.dataset.id && reply.dataset.status === "in_progress") this.attach(reply);
    else if (!reply || reply.dataset.status === "in_progress") this.follow(true);
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
    const writing = [...this.messages.querySelectorAll('li[data-status="in_progress"]')];
    const reply = writing.findLast((item) => item.classList.contains("assistant") && item.dataset.id);
    if (reply) this.attach(reply);
    else if (writing.length) this.follow(false);
  }

  attach(item) {
    return attachReply(this, item);
  }

  follow(afterDrop) {
    return pollReplies(this, afterDrop);
  }

  // ---- stopping a reply -------------------------------------------------------------------

  /** Stop shows instead of Send while a reply streams into this view (ours or attached). */
  showStop() {
    const streaming = Boolean(this.attached || this.turn?.generation === this.generation);
    this.stopButton.hidden = !streaming;
    this.sendButton.hidden = streaming;
  }

  async stop() {
    const turn = this.turn?.generation === this.generation ? this.turn : null;
    const item = this.attached?.item ?? turn?.assistantItem;
    if (!item?.dataset.id) {
      if (turn) turn.stopRequested = true; // stopped as soon as the reply has an id
      return;
    }
    this.stopButton.disabled = true;
    const generation = this.generation;
    try {
      const message = await cancelReply(this.id, item.dataset.id);
      if (generation !== this.generation || message.status === "in_progress") return;
      updateMessageItem(item, message);
      // The reply has ended on the server: its streams have nothing more to say.
      if (turn) turn.finished = true;
      turn?.controller.abort();
      this.attached?.controller.abort();
      this.announce("The reply was stopped.");
    } catch (error) {
      if (generation === this.generation) {
        this.error.textContent = `Couldn't stop the reply. ${describeError(error)}`;
      }
    } finally {
      this.stopButton.disabled = false;
    }
  }
}
