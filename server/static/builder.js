// Snippet builder: every change refreshes the code and the preview; one tap copies.
(function () {
  "use strict";
  var form = document.getElementById("builder-form");
  if (!form) return;
  var code = document.getElementById("code"), text = document.getElementById("text");
  var frame = document.getElementById("preview"), problem = document.getElementById("problem");
  var extra = document.getElementById("extra"), copied = document.getElementById("copied");
  var shortForm = document.getElementById("short-link-form");
  var videoFields = document.getElementById("video-fields");
  var timer = null, seq = 0;

  var lookFields = document.getElementById("look-fields");
  var oneProduct = document.getElementById("one-product");

  // Video fields belong to the video surface only, the look's rows to the look; a disabled
  // fieldset is not submitted.
  function showSurfaceFields() {
    var picked = form.querySelector('input[name="surface"]:checked');
    var surface = picked ? picked.value : "";
    videoFields.hidden = videoFields.disabled = surface !== "video";
    if (lookFields) {
      lookFields.hidden = lookFields.disabled = surface !== "look";
      oneProduct.hidden = surface === "look";
    }
  }

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
  form.addEventListener("input", function () {
    showSurfaceFields();
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
  showSurfaceFields();
  // One more (empty) moment row: a copy of the last one, cleared.
  var moments = document.getElementById("moments"), addMoment = document.getElementById("add-moment");
  addMoment.addEventListener("click", function () {
    var rows = moments.querySelectorAll(".moment"), row = rows[rows.length - 1].cloneNode(true);
    row.querySelector("select").value = "";
    var times = row.querySelectorAll("input");
    var last = parseFloat(rows[rows.length - 1].querySelectorAll("input")[1].value) || 0;
    times[0].value = String(last);
    times[1].value = String(last + 15);
    moments.appendChild(row);
    row.querySelector("select").focus();
  });
  // One more (empty) product row for the look, up to 20: a copy of the last one, cleared.
  var lookRows = document.getElementById("look-rows"), addLook = document.getElementById("add-look-row");
  if (lookRows && addLook) {
    addLook.hidden = false;
    addLook.addEventListener("click", function () {
      var rows = lookRows.querySelectorAll(".look-row");
      if (rows.length >= 20) return;
      var row = rows[rows.length - 1].cloneNode(true);
      row.querySelector("select").value = "";
      row.querySelector("input").value = "1";
      lookRows.appendChild(row);
      row.querySelector("select").focus();
    });
  }
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
