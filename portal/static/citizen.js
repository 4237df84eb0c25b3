// Progressive enhancement for the citizen pages; every page works without this file.
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function faqLink(id) { return "/faq/" + encodeURIComponent(id); }

  // Renders hits as the server does (_faq_hits.html), with text nodes only (no HTML injection).
  function renderHits(box, data, heading) {
    box.textContent = "";
    var hits = [];
    if (data && data.best) { hits.push(data.best); }
    (data && data.suggestions || []).forEach(function (hit) {
      if (!hits.some(function (h) { return h.id === hit.id; })) { hits.push(hit); }
    });
    if (!hits.length) { box.hidden = true; return false; }
    if (heading) {
      var h = document.createElement("p");
      h.className = "hint";
      h.textContent = heading;
      box.appendChild(h);
    }
    var list = document.createElement("ul");
    list.className = "faq-hits";
    hits.forEach(function (hit, index) {
      var li = document.createElement("li");
      var details = document.createElement("details");
      if (index === 0 && data.answered) { details.open = true; }
      var summary = document.createElement("summary");
      summary.textContent = hit.question;
      var answer = document.createElement("div");
      answer.className = "faq-answer";
      answer.textContent = hit.answer || "";
      var more = document.createElement("a");
      more.href = faqLink(hit.id);
      more.textContent = box.getAttribute("data-more") || "›";
      details.appendChild(summary);
      details.appendChild(answer);
      details.appendChild(more);
      li.appendChild(details);
      list.appendChild(li);
    });
    box.appendChild(list);
    box.hidden = false;
    return true;
  }

  function liveSearch(input, box, url, onResult) {
    var last = "";
    var run = debounce(function () {
      var q = input.value.trim();
      if (q === last) { return; }
      last = q;
      if (q.length < 2) { box.hidden = true; box.textContent = ""; return; }
      fetch(url + "?limit=3&q=" + encodeURIComponent(q), { headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (q !== input.value.trim()) { return; }
          var shown = renderHits(box, data, box.getAttribute("data-heading"));
          if (onResult) { onResult(shown, data); }
        })
        .catch(function () { /* the plain search still works */ });
    }, 300);
    input.addEventListener("input", run);
  }

  // Home page: answers as you type.
  var homeForm = document.querySelector("form[data-live-search]");
  if (homeForm) {
    liveSearch(homeForm.querySelector("input[type=search]"),
      homeForm.querySelector(".live-results"), homeForm.getAttribute("data-live-search"));
  }

  // Submit form: show FAQs that may already answer it while the citizen types.
  var ticketForm = document.querySelector("form[data-faq-search]");
  if (ticketForm) {
    var desc = ticketForm.querySelector("#description");
    var box = ticketForm.querySelector(".live-results");
    var checked = ticketForm.querySelector("input[name=faq_checked]");
    box.setAttribute("data-heading", document.documentElement.lang === "en"
      ? "These answers may already help you:" : "以下解答可能已经能帮到您：");
    liveSearch(desc, box, ticketForm.getAttribute("data-faq-search"), function (shown) {
      // The citizen has seen the suggestions (or there were none): no second round trip.
      checked.value = "1";
    });

    // Optional map point from the device.
    var locate = ticketForm.querySelector("[data-locate]");
    if (locate && navigator.geolocation) {
      locate.hidden = false;
      locate.addEventListener("click", function () {
        navigator.geolocation.getCurrentPosition(function (pos) {
          var lat = pos.coords.latitude.toFixed(6), lng = pos.coords.longitude.toFixed(6);
          ticketForm.querySelector("input[name=latitude]").value = lat;
          ticketForm.querySelector("input[name=longitude]").value = lng;
          ticketForm.querySelector("[data-location-text]").textContent = lat + ", " + lng;
        });
      });
    }
  }

  // Disable a submit button once pressed (the server's one-time token is the real guard).
  document.querySelectorAll("button[data-once]").forEach(function (button) {
    button.form.addEventListener("submit", function () {
      setTimeout(function () { button.disabled = true; }, 0);
    });
  });
})();
