// Staff console behaviour (the CSP forbids inline scripts): confirmation before actions that
// cannot be undone, and canned replies inserted into a text area.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-insert]");
    if (!button) { return; }
    var target = document.getElementById(button.getAttribute("data-insert"));
    if (!target) { return; }
    var text = button.getAttribute("data-text") || "";
    target.value = target.value ? target.value.replace(/\s*$/, "\n") + text : text;
    target.focus();
  });
})();
