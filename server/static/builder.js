// Snippet builder: every change refreshes the code and the preview; one tap copies.
(function () {
  "use strict";
  var form = document.getElementById("builder-form");
  if (!form) return;
  var code = document.getElementById("code"), text = document.getElementById("text");
  var frame = document.getElementById("preview"), problem = document.getElementById("problem");
  var extra = document.getElementById("extra"), copied = document.getElementById("copied");
  var shortForm = document.getElementById("short-link-form");
  var timer = null, seq = 0;

  function query() {
    return new URLSearchParams(new FormData(form)).toString();
  }
  function refresh() {
    var mine = ++seq, q = query();
    fetch("/admin/snippets?format=json&" + q, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (answer) {
        if (mine !== seq) return;
        history.replaceState(null, "", "/admin/snippets?" + q);
        if (!answer.ok) {
          problem.textContent = answer.body.error.message;
          problem.hidden = false;
          return;
        }
        problem.hidden = true;
        code.value = answer.body.code;
        text.value = answer.body.text || "";
        extra.hidden = !answer.body.text;
        // Reading never mints a short link: creating one is this form's POST.
        shortForm.action = "/admin/snippets?" + q;
        shortForm.hidden = !answer.body.short_link_needed;
        frame.src = "/admin/preview?" + q;
      });
  }
  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 250); });
  form.addEventListener("submit", function (e) { e.preventDefault(); refresh(); });
  document.querySelectorAll("[data-copies]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copies"));
      var done = function () { copied.textContent = "Copied to the clipboard."; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(source.value).then(done, function () { source.select(); });
      } else {
        source.select();
        document.execCommand("copy");
        done();
      }
    });
  });
})();
