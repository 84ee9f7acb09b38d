// Downloads of the user's own data. The export routes need the bearer token, which a plain
// link cannot send, so the file comes back through fetch and is handed to the browser as a
// Blob behind a short-lived object URL.

import { request } from "./api.js";

function filenameOf(response, fallback) {
  const disposition = response.headers.get("Content-Disposition") ?? "";
  return /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallback;
}

/** Fetches `path` and saves it as a file; returns the file's name. */
export async function download(path, fallbackName) {
  const response = await request(path, { headers: { Accept: "*/*" } });
  const name = filenameOf(response, fallbackName);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  try {
    link.click();
  } finally {
    link.remove();
    // The click starts the download; the URL only has to live until the browser has read it.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
  return name;
}

export function conversationExportPath(id) {
  return `/api/chat/conversations/${encodeURIComponent(id)}/export?format=md`;
}

export const ACCOUNT_EXPORT_PATH = "/api/chat/export";
