// Lyfta's small amount of page behaviour. No inline scripts anywhere (Content-Security-Policy).
(function () {
  "use strict";

  // Idle-session warning (R23): the server ends the session after LYFTA_IDLE_TIMEOUT seconds
  // without a request; a minute before, a dialog offers to stay signed in.
  function setUpIdleWarning() {
    var body = document.body;
    var timeout = parseInt(body.dataset.idleTimeout || "0", 10);
    var warnBefore = parseInt(body.dataset.idleWarning || "60", 10);
    var dialog = document.getElementById("idle-dialog");
    if (!timeout || !dialog) { return; }
    var warnTimer, endTimer;
    function schedule() {
      clearTimeout(warnTimer); clearTimeout(endTimer);
      warnTimer = setTimeout(function () {
        if (typeof dialog.showModal === "function" && !dialog.open) { dialog.showModal(); }
      }, Math.max(0, (timeout - warnBefore) * 1000));
      // At the deadline the page asks the server again: the server ends the session, records why
      // and answers with the login page, so nothing stays on screen after the timeout.
      endTimer = setTimeout(function () {
        window.location.reload();
      }, timeout * 1000 + 500);
    }
    document.body.addEventListener("htmx:afterRequest", function (event) {
      if (event.detail && event.detail.successful) {
        if (dialog.open) { dialog.close(); }
        schedule();
      } else if (event.detail && event.detail.xhr && event.detail.xhr.status === 401) {
        window.location.assign(body.dataset.loginUrl || "/");
      }
    });
    schedule();
  }

  // Buttons that ask for confirmation carry data-confirm (no inline onclick).
  function setUpConfirm() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      var text = form.getAttribute("data-confirm");
      if (text && !window.confirm(text)) { event.preventDefault(); }
    });
  }

  // Tables read on a phone become cards (lyfta.css): every cell carries its column's heading in
  // data-label, which the stylesheet shows before the value. A cell that spans columns (an empty
  // list's message) or already has a label is left alone.
  function labelCells(root) {
    var tables = root.querySelectorAll ? root.querySelectorAll("table.table") : [];
    if (root.matches && root.matches("table.table")) { tables = [root]; }
    Array.prototype.forEach.call(tables, function (table) {
      var headRows = table.tHead ? table.tHead.rows : [];
      if (!headRows.length) { return; }
      var labels = [];
      Array.prototype.forEach.call(headRows[headRows.length - 1].cells, function (th) {
        var text = th.textContent.replace(/\s+/g, " ").trim();
        for (var i = 0; i < (th.colSpan || 1); i++) { labels.push(text); }
      });
      Array.prototype.forEach.call(table.tBodies, function (body) {
        Array.prototype.forEach.call(body.rows, function (row) {
          var column = 0;
          Array.prototype.forEach.call(row.cells, function (cell) {
            var span = cell.colSpan || 1;
            if (span === 1 && labels[column] && !cell.hasAttribute("data-label")) {
              cell.setAttribute("data-label", labels[column]);
            }
            if (/^(\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?|\d{2}( \d{2}){1,2})$/.test(cell.textContent.trim())) {
              cell.classList.add("nowrap");
            }
            column += span;
          });
        });
      });
    });
  }

  // The header on a phone: the menu and the account links fold away behind a button.
  function setUpMenu() {
    var header = document.querySelector(".site-header");
    var button = document.getElementById("menu-toggle");
    if (!header || !button) { return; }
    header.classList.add("site-header--foldable");
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = header.classList.toggle("site-header--open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpIdleWarning();
    setUpConfirm();
    setUpMenu();
    labelCells(document);
    // Content that htmx swaps in (search results, rows) is labelled as it arrives.
    document.body.addEventListener("htmx:load", function (event) { labelCells(event.target); });
  });
})();
