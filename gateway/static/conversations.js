// The conversation list: newest first, paged by next_cursor, links that open a conversation.

import { describeError, json } from "./api.js";

const PAGE_SIZE = 20;
const $ = (id) => document.getElementById(id);

export function conversationHref(id) {
  return `#/c/${encodeURIComponent(id)}`;
}

export function displayTitle(conversation) {
  return conversation.title?.trim() || "New conversation";
}

export class ConversationList {
  constructor() {
    this.list = $("conversation-list");
    this.loadMoreButton = $("load-more");
    this.error = $("list-error");
    this.empty = $("list-empty");
    this.cursor = null;
    this.selectedId = null;
    this.generation = 0; // a newer reset makes older page answers stale
    this.loadMoreButton.addEventListener("click", () => this.loadMore());
  }

  reset() {
    this.generation += 1;
    this.list.replaceChildren();
    this.cursor = null;
    this.loadMoreButton.hidden = true;
    this.empty.hidden = true;
    this.error.textContent = "";
  }

  async loadFirst() {
    this.reset();
    await this.loadPage(null);
  }

  async loadMore() {
    if (!this.cursor) return;
    const firstNew = this.list.children.length;
    await this.loadPage(this.cursor);
    // Keyboard users land on the first item that just appeared, not back at the top.
    this.list.children[firstNew]?.querySelector("a")?.focus();
  }

  async loadPage(cursor) {
    const generation = this.generation;
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (cursor) query.set("cursor", cursor);
    this.loadMoreButton.disabled = true;
    try {
      const page = await json(`/api/chat/conversations?${query}`);
      if (generation !== this.generation) return;
      for (const conversation of page.items) {
        if (!this.itemFor(conversation.id)) this.list.append(this.item(conversation));
      }
      this.cursor = page.next_cursor ?? null;
      this.error.textContent = "";
    } catch (error) {
      if (generation === this.generation) {
        this.error.textContent = `Couldn't load conversations. ${describeError(error)}`;
      }
    } finally {
      this.loadMoreButton.disabled = false;
      this.loadMoreButton.hidden = !this.cursor;
      this.empty.hidden = this.list.children.length > 0;
    }
  }

  item(conversation) {
    const li = document.createElement("li");
    li.dataset.id = conversation.id;
    const link = document.createElement("a");
    link.className = "conversation-link";
    link.href = conversationHref(conversation.id);
    li.append(link);
    this.fill(li, conversation);
    return li;
  }

  fill(li, conversation) {
    const link = li.querySelector("a");
    link.textContent = displayTitle(conversation);
    link.title = displayTitle(conversation);
    if (conversation.id === this.selectedId) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }

  /** The newest conversation's id (the list is newest first), or null. */
  firstId() {
    return this.list.querySelector("li[data-id]")?.dataset.id ?? null;
  }

  itemFor(id) {
    return this.list.querySelector(`li[data-id="${CSS.escape(id)}"]`);
  }

  /** A new or just-updated conversation goes to the top (the list is newest first). */
  putFirst(conversation) {
    const li = this.itemFor(conversation.id) ?? this.item(conversation);
    this.fill(li, conversation);
    this.list.prepend(li);
    this.empty.hidden = true;
  }

  update(conversation) {
    const li = this.itemFor(conversation.id);
    if (li) this.fill(li, conversation);
  }

  remove(id) {
    this.itemFor(id)?.remove();
    this.empty.hidden = this.list.children.length > 0 || Boolean(this.cursor);
  }

  select(id) {
    this.selectedId = id;
    for (const link of this.list.querySelectorAll("a")) {
      if (link.closest("li").dataset.id === id) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  }
}
