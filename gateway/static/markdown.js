// A reply's Markdown as sanitised DOM. The model's text never becomes live HTML: raw HTML in it
// is shown as text, the rendered HTML goes through DOMPurify, images become links (an image
// would be a request leaving the origin) and links open in a new tab without an opener.

import { Marked } from "./vendor/marked.esm.js";
import DOMPurify from "./vendor/purify.es.js";

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);

const markdown = new Marked({
  gfm: true,
  breaks: true, // a chat reply's single newlines are meant as line breaks
  renderer: {
    html: ({ text, block }) => (block ? `<p>${escapeHtml(text)}</p>` : escapeHtml(text)),
    image: ({ href, text }) => `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>`,
  },
});

const PURIFY = {
  USE_PROFILE: { html: true },
  FORBID_TAGS: ["img", "style", "form", "input", "button", "textarea", "select", "svg", "math"],
  FORBID_ATTR: ["style", "id", "name"],
  RETURN_DOM_FRAGMENT: true,
};

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

/** The Markdown text rendered as a sanitised DocumentFragment, code blocks with a Copy button. */
export function renderMarkdown(text) {
  const fragment = DOMPurify.sanitize(markdown.parse(text), PURIFY);
  for (const pre of fragment.querySelectorAll("pre")) addCopyButton(pre);
  return fragment;
}

function addCopyButton(pre) {
  const block = document.createElement("div");
  pre.before(block);
  block.className = "code-block";
  const copy = document.createElement("button");
  copy.type = "button";
  copy.className = "button subtle copy-code";
  copy.textContent = "Copy";
  copy.setAttribute("aria-label", "Copy code");
  copy.addEventListener("click", () => copyText(copy, pre.textContent));
  block.append(copy, pre);
}

async function copyText(button, text) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    button.textContent = "Copy failed"; // no clipboard outside a secure context
  }
  setTimeout(() => {
    button.textContent = "Copy";
  }, 2000);
}
