// The account menu: change the password, log out everywhere, delete the account. Each of
// them ends this tab's session too (every refresh token of the account is revoked), so
// the page returns to the login form through `onSignedOut`.

import * as api from "./api.js";

const $ = (id) => document.getElementById(id);

function wrongPassword(error) {
  return error instanceof api.ApiError && error.status === 401
    ? "That is not your password."
    : api.describeError(error);
}

/**
 * Opens a copy of the dialog in `<template id=templateId>` (removed again when it closes,
 * so its password fields exist only while it is open) and runs `action` with its form's
 * fields on submit; the dialog stays open with the error if it fails.
 */
function openDialog(templateId, action) {
  const dialog = $(templateId).content.firstElementChild.cloneNode(true);
  const form = dialog.querySelector("form");
  const error = dialog.querySelector(".error");
  dialog.addEventListener("close", () => dialog.remove());
  dialog.querySelector("[data-cancel]").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    error.textContent = "";
    try {
      await action(new FormData(form));
      dialog.close();
    } catch (failure) {
      error.textContent = wrongPassword(failure);
    } finally {
      button.disabled = false;
    }
  });
  document.body.append(dialog);
  $("account-menu").open = false;
  dialog.showModal();
}

export function wireAccountMenu({ onSignedOut }) {
  $("password-menu-item").addEventListener("click", () =>
    openDialog("password-dialog", async (fields) => {
      await api.withPassword("/api/auth/password", "POST", {
        current_password: fields.get("current_password"),
        new_password: fields.get("new_password"),
      });
      await onSignedOut(); // every session ended, this one too: log in with the new password
    }),
  );
  $("delete-account-menu-item").addEventListener("click", () =>
    openDialog("delete-account-dialog", async (fields) => {
      await api.withPassword("/api/auth/me", "DELETE", { password: fields.get("password") });
      await onSignedOut();
    }),
  );
  $("logout-all-menu-item").addEventListener("click", async () => {
    $("account-menu").open = false;
    $("chat-error").textContent = "";
    try {
      await api.json("/api/auth/logout-all", { method: "POST" });
    } catch (error) {
      $("chat-error").textContent = `Couldn't log out everywhere. ${api.describeError(error)}`;
      return;
    }
    await onSignedOut();
  });
}
