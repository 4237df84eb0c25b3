/* The citizen's web chat: start, send and poll /api/v1/chat (no inline script: CSP). */
(function () {
  "use strict";
  var root = document.getElementById("webchat");
  if (!root) { return; }
  var log = root.querySelector(".chat-log");
  var choicesBox = root.querySelector(".chat-choices");
  var statusLine = root.querySelector(".chat-status");
  var errorLine = root.querySelector(".chat-error");
  var form = root.querySelector(".chat-form");
  var input = root.querySelector("#chat-input");
  var locateButton = root.querySelector(".chat-locate");
  var seen = {};
  var lastId = 0;
  var pollTimer = null;
  var POLL_MS = 1500;

  function newId() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function request(method, url, body) {
    var options = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.error || response.statusText);
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }

  function showError(message) {
    errorLine.textContent = message || "";
    errorLine.hidden = !message;
  }

  function label(sender, message) {
    if (sender === "staff") { return message.staff_name || root.dataset.labelStaff; }
    if (sender === "citizen") { return root.dataset.labelYou; }
    return root.dataset.labelBot;
  }

  function renderChoices(choices) {
    choicesBox.textContent = "";
    (choices || []).forEach(function (choice) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = choice.label;
      button.addEventListener("click", function () { send({ text: choice.value }); });
      choicesBox.appendChild(button);
    });
  }

  function render(state) {
    if (!state) { return; }
    var added = false;
    var lastChoices = null;
    (state.messages || []).forEach(function (message) {
      if (seen[message.id]) { return; }
      seen[message.id] = true;
      lastId = Math.max(lastId, message.id);
      var item = document.createElement("li");
      item.className = "chat-msg " + message.sender;
      item.dataset.id = message.id;
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = label(message.sender, message);
      var text = document.createElement("span");
      text.className = "text";
      text.textContent = message.text;
      item.appendChild(who);
      item.appendChild(text);
      log.appendChild(item);
      lastChoices = message.sender === "citizen" ? [] : message.choices;
      added = true;
    });
    if (added) {
      renderChoices(lastChoices);
      log.scrollTop = log.scrollHeight;
    }
    if (state.mode) {
      root.dataset.mode = state.mode;
      var key = "mode" + state.mode.charAt(0).toUpperCase() + state.mode.slice(1);
      statusLine.textContent = statusLine.dataset[key] || "";
    }
  }

  function poll() {
    request("GET", root.dataset.poll + "?after=" + lastId)
      .then(function (state) { showError(""); render(state); })
      .catch(function (error) {
        if (error.status === 401) { start(); return; }
        showError(root.dataset.errorNetwork);
      })
      .then(schedule, schedule);
  }

  function schedule() {
    window.clearTimeout(pollTimer);
    pollTimer = window.setTimeout(poll, POLL_MS);
  }

  function send(payload, attempt, clientId) {
    clientId = clientId || newId();
    attempt = attempt || 1;
    payload.client_id = clientId;
    payload.after = lastId;
    form.classList.add("sending");
    return request("POST", root.dataset.send, payload)
      .then(function (state) { showError(""); render(state); })
      .catch(function (error) {
        if (!error.status && attempt < 3) {
          // The same client id: if the first try arrived, the server answers it again, once.
          showError(root.dataset.errorNetwork);
          return new Promise(function (resolve) { window.setTimeout(resolve, 800 * attempt); })
            .then(function () { return send(payload, attempt + 1, clientId); });
        }
        showError(error.message);
      })
      .then(function () { form.classList.remove("sending"); });
  }

  function start() {
    return request("POST", root.dataset.start, {})
      .then(function (state) { showError(""); render(state); schedule(); })
      .catch(function (error) { showError(error.message || root.dataset.errorNetwork); schedule(); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    send({ text: text });
    input.focus();
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
    }
  });

  if (!navigator.geolocation) {
    locateButton.hidden = true;
  } else {
    locateButton.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (position) {
        send({
          text: "",
          location: {
            latitude: position.coords.latitude,
            longitude: position.coords.longitude
          }
        });
      }, function (error) { showError(error.message); }, { timeout: 10000 });
    });
  }

  start();
})();
