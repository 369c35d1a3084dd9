// A little help for the console; every page works without it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Times are shown in UTC; hovering shows the reader's local time.
  for (const el of document.querySelectorAll("time[datetime]")) {
    const when = new Date(el.getAttribute("datetime"));
    if (!Number.isNaN(when.getTime())) el.title = when.toLocaleString();
  }

  // Filters that apply as soon as they change.
  for (const el of document.querySelectorAll("[data-autosubmit]")) {
    el.addEventListener("change", () => el.form.submit());
  }

  // "Back" goes back when there is somewhere to go back to.
  for (const el of document.querySelectorAll("[data-back]")) {
    el.addEventListener("click", (event) => {
      if (history.length > 1) {
        event.preventDefault();
        history.back();
      }
    });
  }

  // A decision button says it is working, and cannot be pressed twice.
  for (const form of document.querySelectorAll("form[method=post]")) {
    form.addEventListener("submit", () => {
      const button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
        button.textContent += "…";
      }
    });
  }
});
