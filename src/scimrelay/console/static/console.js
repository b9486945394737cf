// scimrelay console: header rows, copy buttons, test connection, live log.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Custom HTTP header rows: add, remove, and the limit.
  function setUpHeaders(box) {
    var rows = box.querySelector("[data-header-rows]");
    var add = box.querySelector("[data-add-header]");
    var count = box.querySelector("[data-header-count]");
    var template = box.querySelector("template");
    var max = parseInt(box.getAttribute("data-max"), 10);

    function refresh() {
      var n = rows.querySelectorAll(".header-row").length;
      add.disabled = n >= max;
      add.title = n >= max ? "At most " + max + " custom headers" : "";
      count.textContent = n + " of " + max + " headers" + (n >= max ? " (limit reached)" : "");
      box.querySelector("[data-header-labels]").hidden = n === 0;
    }
    add.addEventListener("click", function () {
      if (rows.querySelectorAll(".header-row").length >= max) return;
      rows.appendChild(template.content.cloneNode(true));
      var inputs = rows.querySelectorAll(".header-row:last-child input[type=text]");
      if (inputs.length) inputs[0].focus();
      refresh();
    });
    rows.addEventListener("click", function (event) {
      var button = event.target.closest("[data-remove-header]");
      if (!button) return;
      button.closest(".header-row").remove();
      refresh();
    });
    refresh();
  }

  // Profile rules: show the checkboxes of the chosen profile's rules only.
  function setUpProfile(select) {
    var box = select.form.querySelector("[data-rules]");
    function refresh() {
      var shown = 0;
      box.querySelectorAll("[data-rule]").forEach(function (label) {
        var offered = label.getAttribute("data-profiles").split(" ").indexOf(select.value) >= 0;
        label.hidden = !offered;
        if (offered) shown += 1;
      });
      box.querySelector("[data-no-rules]").hidden = shown > 0;
    }
    select.addEventListener("change", refresh);
    refresh();
  }

  // Copy a value to the clipboard.
  function copyValue(button) {
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    var done = function () {
      var note = button.parentNode.parentNode.querySelector("[data-copied]");
      if (note) { note.hidden = false; setTimeout(function () { note.hidden = true; }, 2500); }
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 2500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done);
    } else {
      input.select();
      document.execCommand("copy");
      done();
    }
  }

  // Test connection: post the form's current values, show the diagnosis.
  function testConnection(button) {
    var form = button.form || button.closest("form");
    var target = document.querySelector(button.getAttribute("data-result"));
    var body = new FormData(form);
    button.disabled = true;
    button.classList.add("busy");
    var label = button.textContent;
    button.textContent = "Testing…";
    fetch(button.getAttribute("data-test-url"), {
      method: "POST",
      body: body,
      headers: { "X-CSRF-Token": csrfToken() },
      credentials: "same-origin",
    })
      .then(function (response) { return response.text(); })
      .then(function (html) { target.innerHTML = html; target.hidden = false; })
      .catch(function () {
        target.innerHTML = '<div class="alert error">The relay did not answer. Check that it still runs.</div>';
        target.hidden = false;
      })
      .finally(function () {
        button.disabled = false;
        button.classList.remove("busy");
        button.textContent = label;
      });
  }

  // The trailing slash notice under the SCIM Server URL.
  function setUpUrl(input) {
    var notice = document.querySelector("[data-slash-notice]");
    function check() {
      var value = input.value.trim();
      notice.hidden = !/\/+$/.test(value) || value.length < 9;
      notice.textContent = "The trailing slash will be removed: the base URL is " + value.replace(/\/+$/, "") + ".";
    }
    input.addEventListener("input", check);
    check();
  }

  // The request log's live view: poll for rows newer than the newest shown.
  function setUpLive(toggle) {
    var body = document.querySelector("[data-log-rows]");
    var status = document.querySelector("[data-live-status]");
    var timer = null;
    function poll() {
      var url = toggle.getAttribute("data-feed") + "&after=" + body.getAttribute("data-last-id");
      fetch(url, { credentials: "same-origin" }).then(function (response) {
        var last = response.headers.get("X-Last-Id");
        return response.text().then(function (html) {
          if (html.trim()) {
            var empty = body.querySelector("[data-empty]");
            if (empty) empty.remove();
            body.insertAdjacentHTML("afterbegin", html);
          }
          if (last) body.setAttribute("data-last-id", last);
        });
      });
    }
    toggle.addEventListener("change", function () {
      status.classList.toggle("on", toggle.checked);
      status.querySelector("[data-live-label]").textContent = toggle.checked ? "Following new requests" : "Live";
      if (toggle.checked) { poll(); timer = setInterval(poll, 2000); }
      else { clearInterval(timer); }
    });
  }

  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy-target]");
    if (copy) { event.preventDefault(); copyValue(copy); return; }
    var test = event.target.closest("[data-test-url]");
    if (test) { event.preventDefault(); testConnection(test); return; }
    var row = event.target.closest("tr[data-href]");
    if (row && !event.target.closest("a, button")) { window.location = row.getAttribute("data-href"); }
  });
  document.addEventListener("change", function (event) {
    var toggle = event.target.closest("[data-secret-toggle]");
    if (!toggle) return;
    var hidden = toggle.closest(".header-row").querySelector("input[name=header_secret]");
    hidden.value = toggle.checked ? "1" : "";
  });
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-headers]").forEach(setUpHeaders);
    document.querySelectorAll("[data-scim-url]").forEach(setUpUrl);
    document.querySelectorAll("[data-live]").forEach(setUpLive);
    document.querySelectorAll("[data-profile-select]").forEach(setUpProfile);
    document.querySelectorAll("[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  });
})();
