/* Staff chat screens: the queue refreshes itself, an open chat shows new messages as they come,
   a canned reply fills the reply box. Static file only (CSP). */
(function () {
  "use strict";

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.statusText); }
        return response.json();
      });
  }

  function cell(row, text, className) {
    var td = document.createElement("td");
    if (className) { td.className = className; }
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  var queue = document.getElementById("chat-queue");
  if (queue) {
    var body = queue.querySelector("tbody");
    var count = document.getElementById("waiting-count");
    var mineBox = document.getElementById("my-chats");
    var renderQueue = function (data) {
      body.textContent = "";
      data.waiting.forEach(function (item) {
        var row = document.createElement("tr");
        row.dataset.id = item.id;
        cell(row, item.wait, item.long ? "wait-long" : "");
        var queueCell = cell(row, "");
        var badge = document.createElement("span");
        badge.className = "badge queue-" + item.queue;
        badge.textContent = item.queue_label;
        queueCell.appendChild(badge);
        cell(row, item.channel);
        cell(row, item.topic || item.last_text);
        var actions = cell(row, "");
        var form = document.createElement("form");
        form.method = "post";
        form.className = "inline-form";
        form.action = item.url + "/pick-up";
        var token = document.createElement("input");
        token.type = "hidden";
        token.name = "csrf_token";
        token.value = queue.dataset.csrf;
        var button = document.createElement("button");
        button.type = "submit";
        button.textContent = queue.dataset.labelPick;
        form.appendChild(token);
        form.appendChild(button);
        actions.appendChild(form);
        body.appendChild(row);
      });
      if (!data.waiting.length) {
        var empty = document.createElement("tr");
        empty.className = "empty";
        cell(empty, queue.dataset.labelEmpty).colSpan = 5;
        body.appendChild(empty);
      }
      count.textContent = data.waiting.length;
      if (mineBox) {
        var list = mineBox.querySelector("ul");
        list.textContent = "";
        data.mine.forEach(function (item) {
          var li = document.createElement("li");
          var link = document.createElement("a");
          link.href = item.url;
          link.textContent = item.queue_label + " · " + (item.last_text || item.topic);
          li.appendChild(link);
          list.appendChild(li);
        });
        mineBox.hidden = !data.mine.length;
      }
    };
    var refreshQueue = function () {
      getJSON(queue.dataset.poll).then(renderQueue).catch(function () {})
        .then(function () { window.setTimeout(refreshQueue, 2000); });
    };
    window.setTimeout(refreshQueue, 2000);
  }

  var log = document.getElementById("staff-chat-log");
  if (log) {
    var last = parseInt(log.dataset.last || "0", 10);
    var statusBox = document.getElementById("chat-status");
    log.scrollTop = log.scrollHeight;
    var labels = { citizen: log.dataset.labelCitizen, bot: log.dataset.labelBot, staff: log.dataset.labelStaff };
    var append = function (message) {
      if (log.querySelector('[data-id="' + message.id + '"]')) { return; }
      var li = document.createElement("li");
      li.className = "chat-msg " + message.sender;
      li.dataset.id = message.id;
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = message.staff_name || labels[message.sender] || "";
      var text = document.createElement("span");
      text.className = "text";
      text.textContent = message.text;
      li.appendChild(who);
      li.appendChild(text);
      log.appendChild(li);
      last = Math.max(last, message.id);
      log.scrollTop = log.scrollHeight;
    };
    var refreshLog = function () {
      getJSON(log.dataset.poll + "?after=" + last).then(function (data) {
        data.messages.forEach(append);
        if (data.status === "ended" && statusBox) { statusBox.textContent = log.dataset.labelEnded; }
      }).catch(function () {}).then(function () { window.setTimeout(refreshLog, 1500); });
    };
    window.setTimeout(refreshLog, 1500);
  }

  var canned = document.getElementById("canned");
  var replyText = document.getElementById("reply-text");
  if (canned && replyText) {
    canned.addEventListener("change", function () {
      var option = canned.options[canned.selectedIndex];
      if (option && option.dataset.body) {
        replyText.value = option.dataset.body;
        replyText.focus();
      }
    });
  }
})();
