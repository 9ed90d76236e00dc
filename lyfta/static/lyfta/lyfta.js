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

  document.addEventListener("DOMContentLoaded", function () {
    setUpIdleWarning();
    setUpConfirm();
  });
})();
