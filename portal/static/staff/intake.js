// 来电登记 (portal/staff/intake.py): keyboard first. Alt+1–4 choose the outcome, Alt+letter
// focuses a field (the letters are shown by each label), Ctrl+Enter registers the chosen outcome.
// The knowledge base is searched as the operator types (debounced), the suggested department is
// preselected until the operator picks one, and the form is kept in sessionStorage per call so
// that an interruption (another call popping, a look at another page) loses nothing.
(function () {
  "use strict";
  var root = document.getElementById("intake");
  var form = document.getElementById("intake-form");
  if (!root || !form) { return; }

  var outcomeInput = document.getElementById("f-outcome");
  var description = document.getElementById("f-description");
  var search = document.getElementById("kb-q");
  var results = document.getElementById("kb-results");
  var department = document.getElementById("f-department");
  var category = document.getElementById("f-category");
  var suggested = document.getElementById("dept-suggestions");
  var DRAFT = "intake-draft:" + root.getAttribute("data-draft");
  var OUTCOME_KEYS = { "1": "resolve", "2": "ticket", "3": "follow_up", "4": "transfer" };
  var FIRST_FIELD = {
    resolve: "f-answer", ticket: "f-description", follow_up: "f-ticket", transfer: "f-partner"
  };

  // -- outcomes --------------------------------------------------------------------------------
  function setOutcome(name, focus) {
    outcomeInput.value = name;
    form.querySelectorAll("[data-outcome-section]").forEach(function (section) {
      section.hidden = section.getAttribute("data-outcome-section") !== name;
    });
    form.querySelectorAll("[data-for]").forEach(function (block) {
      block.hidden = block.getAttribute("data-for").split(" ").indexOf(name) < 0;
    });
    form.querySelectorAll("[data-outcome]").forEach(function (tab) {
      var active = tab.getAttribute("data-outcome") === name;
      tab.setAttribute("aria-selected", active ? "true" : "false");
      tab.classList.toggle("secondary", !active);
    });
    if (focus) {
      var first = document.getElementById(FIRST_FIELD[name]);
      if (first) { first.focus(); }
    }
    saveDraft();
  }
  form.querySelectorAll("[data-outcome]").forEach(function (tab) {
    tab.addEventListener("click", function () { setOutcome(tab.getAttribute("data-outcome"), true); });
  });

  function submitCurrent() {
    var button = form.querySelector('[data-submit="' + outcomeInput.value + '"]');
    if (button) { button.click(); }
  }

  // -- shortcuts -------------------------------------------------------------------------------
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey && event.key === "Enter") {
      event.preventDefault();
      submitCurrent();
      return;
    }
    if (!event.altKey || event.ctrlKey || event.metaKey) { return; }
    var key = (event.key || "").toLowerCase();
    if (event.code && /^Digit[1-4]$/.test(event.code)) { key = event.code.slice(5); }
    if (event.code && /^Key[A-Z]$/.test(event.code)) { key = event.code.slice(3).toLowerCase(); }
    if (OUTCOME_KEYS[key]) {
      event.preventDefault();
      setOutcome(OUTCOME_KEYS[key], true);
      return;
    }
    if (key === "u" || key === "i") {
      event.preventDefault();
      setOutcome("follow_up", false);
      var radio = document.getElementById(key === "u" ? "f-follow-urge" : "f-follow-info");
      radio.checked = true;
      radio.focus();
      saveDraft();
      return;
    }
    var target = document.querySelector('[data-key="' + key + '"]');
    if (!target) { return; }
    event.preventDefault();
    var section = target.closest("[data-outcome-section]");
    if (section && section.hidden) { setOutcome(section.getAttribute("data-outcome-section"), false); }
    target.focus();
    if (target.select && target.tagName === "INPUT") { target.select(); }
  });

  // -- the knowledge base, searched as the operator types --------------------------------------
  var timer = null;
  var lastQuery = null;
  var searchTyped = false;

  function useAnswer(hit) {
    document.getElementById("f-answer").value = hit.answer;
    document.getElementById("f-faq").value = String(hit.id);
    if (!description.value.trim()) { description.value = search.value || hit.question; }
    setOutcome("resolve", false);
    document.getElementById("f-answer").focus();
    saveDraft();
  }

  function render(data) {
    results.textContent = "";
    if (!data.hits.length) {
      var none = document.createElement("li");
      none.className = "hint";
      none.textContent = root.getAttribute("data-label-none");
      results.appendChild(none);
    }
    data.hits.forEach(function (hit) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "kb-hit";
      var question = document.createElement("strong");
      question.textContent = hit.question;
      var answer = document.createElement("span");
      answer.className = "kb-answer";
      answer.textContent = hit.answer;
      var meta = document.createElement("span");
      meta.className = "hint";
      meta.textContent = (hit.department ? hit.department + " · " : "") + root.getAttribute("data-label-use") + " ↵";
      button.appendChild(question);
      button.appendChild(answer);
      button.appendChild(meta);
      button.addEventListener("click", function () { useAnswer(hit); });
      item.appendChild(button);
      results.appendChild(item);
    });
    var names = data.departments.map(function (d) { return d.reason ? d.name + "（" + d.reason + "）" : d.name; });
    suggested.textContent = names.length ? root.getAttribute("data-label-suggested") + " " + names.join("、") : "";
    if (data.departments.length && department.getAttribute("data-touched") !== "1") {
      department.value = String(data.departments[0].id);
      department.setAttribute("data-suggested", String(data.departments[0].id));
      saveDraft();
    }
  }

  function runSearch() {
    var q = (searchTyped && search.value.trim()) ? search.value.trim() : description.value.trim();
    var key = q + "|" + category.value;
    if (key === lastQuery) { return; }
    lastQuery = key;
    var url = root.getAttribute("data-search") + "?q=" + encodeURIComponent(q.slice(0, 500)) +
      "&category=" + encodeURIComponent(category.value);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && key === lastQuery) { render(data); }
      })
      .catch(function () { /* typed on; the next search tries again */ });
  }
  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(runSearch, 250);
  }
  description.addEventListener("input", function () {
    if (!searchTyped) { search.value = description.value.slice(0, 500); }
    schedule();
  });
  search.addEventListener("input", function () { searchTyped = search.value.trim() !== ""; schedule(); });
  category.addEventListener("change", schedule);
  department.addEventListener("change", function () { department.setAttribute("data-touched", "1"); });

  search.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown") {
      var first = results.querySelector("button");
      if (first) { event.preventDefault(); first.focus(); }
    } else if (event.key === "Escape") {
      description.focus();
    }
  });
  results.addEventListener("keydown", function (event) {
    var buttons = Array.prototype.slice.call(results.querySelectorAll("button"));
    var at = buttons.indexOf(document.activeElement);
    if (at < 0) { return; }
    if (event.key === "ArrowDown" && at + 1 < buttons.length) { event.preventDefault(); buttons[at + 1].focus(); }
    if (event.key === "ArrowUp") { event.preventDefault(); (at > 0 ? buttons[at - 1] : search).focus(); }
  });

  // The history's "follow up" buttons: pick the ticket for the follow-up outcome.
  document.querySelectorAll(".pick-ticket").forEach(function (button) {
    button.addEventListener("click", function () {
      document.getElementById("f-ticket").value = button.getAttribute("data-number");
      setOutcome("follow_up", false);
      document.getElementById("f-follow-note").focus();
      saveDraft();
    });
  });

  // -- the draft, per call ---------------------------------------------------------------------
  var SKIP = { csrf_token: 1, token: 1, caller: 1, call: 1 };
  function storage() {
    try { return window.sessionStorage; } catch (e) { return null; }
  }
  function saveDraft() {
    var store = storage();
    if (!store) { return; }
    var values = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || SKIP[el.name] || el.type === "submit") { return; }
      if (el.type === "radio") { if (el.checked) { values[el.name] = el.value; } return; }
      values[el.name] = el.value;
    });
    values.__touched = department.getAttribute("data-touched") === "1";
    values.__url = window.location.pathname + window.location.search;
    values.__label = (document.getElementById("caller-number") || {}).textContent || "";
    values.__search = searchTyped ? search.value : "";
    var empty = !["description", "answer", "address", "title", "follow_note", "ticket"].some(function (name) {
      return values[name];
    });
    if (empty) { store.removeItem(DRAFT); } else { store.setItem(DRAFT, JSON.stringify(values)); }
  }
  function restoreDraft() {
    var store = storage();
    var raw = store && store.getItem(DRAFT);
    if (!raw) { return false; }
    var values;
    try { values = JSON.parse(raw); } catch (e) { return false; }
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || SKIP[el.name] || !(el.name in values)) { return; }
      if (el.type === "radio") { el.checked = el.value === values[el.name]; } else { el.value = values[el.name]; }
    });
    if (values.__touched) { department.setAttribute("data-touched", "1"); }
    if (values.__search) { search.value = values.__search; searchTyped = true; }
    return true;
  }
  function listDrafts() {
    var store = storage();
    var box = document.getElementById("drafts");
    if (!store || !box) { return; }
    var list = box.querySelector("ul");
    for (var i = 0; i < store.length; i++) {
      var name = store.key(i);
      if (!name || name.indexOf("intake-draft:") !== 0 || name === DRAFT) { continue; }
      var values;
      try { values = JSON.parse(store.getItem(name)); } catch (e) { continue; }
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = values.__url || "#";
      link.textContent = (values.__label || name.slice(13)) + " · " + String(values.description || values.follow_note || "").slice(0, 24);
      item.appendChild(link);
      list.appendChild(item);
      box.hidden = false;
    }
  }

  form.addEventListener("input", saveDraft);
  form.addEventListener("change", saveDraft);
  form.addEventListener("submit", function () {
    var store = storage();
    if (store) { store.removeItem(DRAFT); }
  });

  if (root.getAttribute("data-restore") === "1") { restoreDraft(); }
  setOutcome(outcomeInput.value || "ticket", false);
  listDrafts();
  if (description.value.trim()) {
    if (!search.value) { search.value = description.value.slice(0, 500); }
    runSearch();
  }
  var focused = form.querySelector("[aria-invalid=true]") || description;
  if (outcomeInput.value !== "ticket" && !form.querySelector("[aria-invalid=true]")) {
    focused = document.getElementById(FIRST_FIELD[outcomeInput.value]) || description;
  }
  if (focused.offsetParent !== null) { focused.focus(); }
})();
