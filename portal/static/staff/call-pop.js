// The pop of the call intake screen (portal/staff/intake.py): every page of an operator's console
// asks, every data-interval ms, for the call the switchboard says this operator answered; a call
// not popped before in this tab opens its intake screen. The form being typed is kept as a draft
// by intake.js on every keystroke, so leaving the page loses nothing.
(function () {
  "use strict";
  var script = document.getElementById("call-pop");
  if (!script || !window.fetch) { return; }
  var url = script.getAttribute("data-poll");
  var interval = parseInt(script.getAttribute("data-interval"), 10) || 500;
  var SEEN = "call-pop:seen";
  var busy = false;

  function seen() {
    try { return window.sessionStorage.getItem(SEEN); } catch (e) { return null; }
  }
  function remember(id) {
    try { window.sessionStorage.setItem(SEEN, id); } catch (e) { /* private mode */ }
  }
  function onScreenOf(id) {
    var params = new URLSearchParams(window.location.search);
    return window.location.pathname.slice(-7) === "/intake" && params.get("call") === id;
  }

  function poll() {
    if (busy) { return; }
    busy = true;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        var call = data && data.call;
        if (!call) { return; }
        var id = String(call.id);
        if (seen() === id) { return; }
        remember(id);
        if (!onScreenOf(id)) { window.location.assign(call.url); }
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { busy = false; });
  }

  poll();
  window.setInterval(poll, interval);
})();
