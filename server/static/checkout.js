// Hosted checkout: live totals from the server, the address form per country, the test
// wallet's one tap, the card expiry as typed, and no double taps.
// The page works without this file (the "Apply" and "Update" buttons post it back and the
// server prices it); the server is idempotent either way and charges only the total shown.
// When it has run, the form carries data-ready="1" (browser tests wait for it).
(function () {
  "use strict";
  var form = document.getElementById("checkout");
  if (!form) return;
  var $ = function (id) { return document.getElementById(id); };
  // The page's words in its language (a JSON block the server renders; English if absent).
  var words = $("checkout-strings"), S = words ? JSON.parse(words.textContent) : {};
  var tr = function (en) { return (S.t && S.t[en]) || en; };
  var QUOTE_FIELDS = ["country", "region", "postal_code", "city", "line1", "codes",
    "shipping_option", "quantity", "email", "fulfilment"];
  var seq = 0, timer = null;

  // -- the quote ---------------------------------------------------------------------------
  function quoteBody(extra) {
    var all = new FormData(form), body = new FormData();
    QUOTE_FIELDS.forEach(function (name) { if (all.has(name)) body.set(name, all.get(name)); });
    var variant = new URLSearchParams(location.search).get("variant");
    if (variant) body.set("variant", variant);
    Object.keys(extra || {}).forEach(function (k) { body.set(k, extra[k]); });
    return body;
  }
  function fetchQuote(extra) {
    var mine = ++seq;
    form.setAttribute("aria-busy", "true");
    return fetch(form.dataset.quoteUrl, {
      method: "POST", body: quoteBody(extra), credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (answer) {
      if (mine !== seq) return null; // a newer question is on its way
      form.removeAttribute("aria-busy");
      if (!answer.ok) { showQuoteError(answer.data.error ? answer.data.error.message : ""); return null; }
      showQuote(answer.data);
      return answer.data;
    }).catch(function () { form.removeAttribute("aria-busy"); return null; });
  }
  function refresh(delay) {
    clearTimeout(timer);
    timer = setTimeout(function () { fetchQuote(); }, delay == null ? 250 : delay);
  }
  function text(id, value) { var el = $(id); if (el && el.textContent !== value) el.textContent = value; }
  function row(id, show) { var el = $(id); if (el) el.hidden = !show; }
  function showQuoteError(message) {
    var box = $("quote-error");
    box.textContent = message || ""; box.hidden = !message;
  }
  function showQuote(q) {
    var t = q.totals, ships = form.dataset.requiresShipping === "true";
    text("t-subtotal", t.subtotal.formatted);
    text("t-discount", "\u2212" + t.discount.formatted);
    row("r-discount", t.discount.amount > 0);
    var codesShown = $("r-discount") && $("r-discount").querySelector("dt");
    if (codesShown) { // "Discount WELCOME10": name the codes, as the server's rendering does
      while (codesShown.childNodes.length > 1) codesShown.removeChild(codesShown.lastChild);
      q.discounts.forEach(function (d) {
        codesShown.appendChild(document.createTextNode(" "));
        codesShown.appendChild(document.createElement("small")).textContent = d.code;
      });
    }
    if (ships) text("t-shipping", !q.address_known || !q.selected_shipping ? tr("With your address")
      : t.shipping.amount === 0 ? tr("Free") : t.shipping.formatted);
    text("t-tax-label", t.tax.label); text("t-tax", t.tax.formatted);
    row("r-tax", t.tax.amount > 0);
    text("total", t.total.formatted); text("pay-amount", t.total.formatted);
    var lines = $("quote-lines");
    if (lines && q.lines.length === 1) {
      var l = q.lines[0], li = lines.firstElementChild;
      if (li) { li.firstElementChild.lastElementChild.textContent = l.quantity + " \u00d7 " + l.unit_price.formatted;
        li.lastElementChild.textContent = l.subtotal.formatted; }
    }
    $("shown-total").value = String(t.total.amount);
    $("quoted").value = q.address_known || !ships ? "1" : "0";
    form.dataset.total = String(t.total.amount);
    row("quote-note", !(q.address_known || !ships));
    if (ships) showOptions(q);
    var notes = q.messages.filter(function (m) { return /^\$\.discounts/.test(m.path || "") || /discount/.test(m.code || ""); });
    fill($("code-notes"), notes);
    var others = q.messages.filter(function (m) { return m.severity !== "error" && notes.indexOf(m) < 0; });
    fill($("shipping-notes"), others);
    showQuoteError(q.messages.filter(function (m) { return m.severity === "error"; })
      .map(function (m) { return m.content; }).join(" "));
    form.querySelectorAll("#pay-card, #pay-wallet").forEach(function (b) { b.disabled = q.blocked; });
    form.dispatchEvent(new CustomEvent("quote", { detail: q }));
  }
  function fill(box, messages) {
    if (!box) return;
    box.textContent = "";
    messages.forEach(function (m) {
      var p = box.appendChild(document.createElement("p"));
      p.className = "note " + m.severity; p.textContent = m.content;
    });
  }
  function showOptions(q) {
    var box = $("shipping-choices");
    if (!box) return;
    var same = q.shipping_options.map(function (o) { return o.id + o.price.amount; }).join() ===
      Array.prototype.map.call(box.querySelectorAll("input"), function (i) { return i.value + i.dataset.amount; }).join();
    if (same && q.shipping_options.length) {
      box.querySelectorAll("input").forEach(function (i) { i.checked = i.value === q.selected_shipping; });
      return;
    }
    box.textContent = "";
    q.shipping_options.forEach(function (o) {
      var label = box.appendChild(document.createElement("label"));
      label.className = "option";
      var input = label.appendChild(document.createElement("input"));
      input.type = "radio"; input.name = "shipping_option"; input.value = o.id;
      input.dataset.amount = o.price.amount; input.checked = o.id === q.selected_shipping;
      var title = label.appendChild(document.createElement("span"));
      title.className = "option-title"; title.textContent = o.title + " ";
      if (o.estimate) {
        var small = title.appendChild(document.createElement("small"));
        small.className = "option-estimate"; small.textContent = o.estimate;
      }
      var price = label.appendChild(document.createElement("span"));
      price.className = "option-price"; price.textContent = o.price.amount === 0 ? tr("Free") : o.price.formatted;
    });
    if (!q.shipping_options.length) {
      var p = box.appendChild(document.createElement("p"));
      p.className = "hint"; p.id = "shipping-hint";
      p.textContent = tr(q.address_known ? "No shipping for this address."
        : "Shipping options and tax appear once we know your country and postal code.");
    }
  }

  // -- the address form, per country (GET /api/public/address-format/{country}) -------------
  function swapAddress(country) {
    var box = form.querySelector("[data-address-fields]");
    if (!box) return Promise.resolve();
    return fetch("/api/public/address-format/" + encodeURIComponent(country))
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (format) {
        if (!format) return;
        var old = {};
        box.querySelectorAll("[data-field]").forEach(function (label) {
          var input = label.querySelector("input, select");
          if (input) old[input.name] = input.value;
          label.remove();
        });
        format.fields.forEach(function (f) {
          if (f.name === "name") return;
          box.appendChild(fieldFor(f, old[f.name] || "", box.dataset.section || "shipping"));
        });
        box.dataset.country = format.country;
      });
  }
  function fieldFor(f, value, section) {
    var label = document.createElement("label");
    label.className = "field"; label.dataset.field = f.name;
    var span = label.appendChild(document.createElement("span"));
    span.textContent = tr(f.label) + (f.required ? "" : " " + tr("(optional)"));
    var input;
    if (f.choices.length) {
      input = document.createElement("select");
      var none = input.appendChild(document.createElement("option"));
      none.value = ""; none.textContent = tr("Choose\u2026");
      f.choices.forEach(function (c) {
        var o = input.appendChild(document.createElement("option"));
        o.value = c.code; o.textContent = c.name; o.selected = c.code === value;
      });
    } else {
      input = document.createElement("input");
      input.type = "text"; input.value = value; input.maxLength = f.max_length;
      if (f.name === "postal_code") { input.autocapitalize = "characters"; input.spellcheck = false; }
    }
    input.name = f.name; input.id = f.name; input.required = f.required;
    input.autocomplete = f.autocomplete ? section + " " + f.autocomplete : "off";
    label.insertBefore(input, null);
    if (f.example) {
      var hint = label.appendChild(document.createElement("small"));
      hint.className = "hint"; hint.id = "hint-" + f.name; hint.textContent = tr("For example %(example)s").replace("%(example)s", f.example);
      input.setAttribute("aria-describedby", hint.id);
    }
    return label;
  }

  form.querySelectorAll("[data-no-js], [data-address-refresh]").forEach(function (b) { b.hidden = true; });
  pickupChoice();
  form.addEventListener("change", function (event) {
    var name = event.target.name;
    if (name === "country") { swapAddress(event.target.value).then(function () { refresh(0); }); return; }
    if (QUOTE_FIELDS.indexOf(name) >= 0) refresh(name === "shipping_option" || name === "quantity" ? 0 : 250);
  });
  form.addEventListener("input", function (event) {
    if (event.target.name === "postal_code" || event.target.name === "codes") refresh(600);
  });
  var apply = $("apply-code");
  if (apply) apply.addEventListener("click", function (event) { event.preventDefault(); refresh(0); });
  if (form.dataset.quoteUrl) refresh(0); // the page came without shipping and tax: ask now

  // -- the test wallet: quote for the wallet's address (the "sheet"), then pay, one tap -----
  var wallet = $("pay-wallet"), walletGo = false;
  if (wallet) wallet.addEventListener("click", function (event) {
    if (walletGo) return;
    event.preventDefault();
    wallet.disabled = true;
    clearTimeout(timer);
    fetchQuote({ method: "wallet" }).then(function (q) {
      wallet.disabled = false;
      if (!q || q.blocked) return;
      var sheet = $("wallet-sheet");
      if (sheet && q.wallet) {
        sheet.textContent = "Test Wallet \u00b7 " + (form.dataset.shopName || "") + " \u00b7 " +
          q.totals.total.formatted + " \u00b7 " + [q.wallet.city, q.wallet.postal_code, q.wallet.country].join(" ");
        sheet.hidden = false;
      }
      walletGo = true;
      if (form.requestSubmit) form.requestSubmit(wallet); else wallet.click();
    });
  });

  // -- the test provider's card expiry --------------------------------------------------
  var expiry = form.elements.card_expiry;
  if (expiry) {
    expiry.addEventListener("input", function (e) {
      var v = formatExpiry(expiry.value, /^delete/.test(e.inputType || ""));
      if (v !== expiry.value) expiry.value = v;
    });
    form.addEventListener("submit", function (e) {
      if (e.submitter && (e.submitter.value === "wallet" || e.submitter.name === "apply" ||
        e.submitter.name === "address_refresh") || expiry.matches(":disabled")) return;
      var m = /^(\d\d) \/ (\d\d)$/.exec(expiry.value = formatExpiry(expiry.value, true));
      var ok = m && m[1] > 0 && m[1] < 13; // the message is payments/messages.py's
      fieldError(expiry, ok ? "" : tr("Enter the expiry date as MM / YY."));
      if (!ok) { e.preventDefault(); expiry.focus(); }
    });
  }
  if (!form.dataset.stripeKey) guardDoubleSubmit(); // checkout-stripe.js submits it itself
  // Deferred scripts run in document order: checkout-stripe.js, when present, has run too.
  form.dataset.ready = "1";

  // "MM / YY" as the shopper types, pastes or autofills: 1230, 12/2030, 1/30, 4 -> 04 / ...
  function formatExpiry(v, deleting) {
    var p = v.split(/\D+/).filter(Boolean), d = p.join(""), sep = /\d\D+$/.test(v), m, y;
    if (p.length > 1) { m = p[0]; y = p[1]; } else {
      if (d.length > 5) d = d.slice(0, 2) + d.slice(4);
      m = d.slice(0, 2); y = d.slice(2, 4);
    }
    var pad = m.length === 1 && (p.length > 1 || sep || m > "1");
    m = (pad ? "0" + m : m).slice(0, 2);
    y = /^20\d\d$/.test(y) ? y.slice(2) : y.slice(0, /^20/.test(y) ? 3 : 2);
    return y ? m + " / " + y : m + (m.length === 2 && !deleting && (pad || sep) ? " / " : "");
  }
  function fieldError(input, message) {
    var id = "err-" + input.name, el = document.getElementById(id);
    if (!el) {
      if (!message) return;
      el = input.parentNode.appendChild(document.createElement("small"));
      el.className = "error"; el.id = id;
    }
    el.textContent = message; el.hidden = !message;
    input.parentNode.classList.toggle("invalid", !!message);
    input.setAttribute("aria-invalid", !!message);
    input[message ? "setAttribute" : "removeAttribute"]("aria-describedby", id);
  }

  // -- pick up in store: no address then; stores re-sorted by distance if the shopper asks --
  function pickupChoice() {
    var box = $("fulfilment"), list = $("pickup-stores"), near = $("stores-near");
    if (!box) return;
    var address = form.querySelector("fieldset.address"), ship = $("shipping-options");
    function sync() {
      var picked = form.querySelector("input[name=fulfilment]:checked");
      var collect = !!picked && picked.value !== "delivery";
      [address, ship].forEach(function (f) { if (f) { f.disabled = collect; f.hidden = collect; } });
      var card = form.querySelector("fieldset.card-fields"); // a reservation is paid in store
      if (card) card.disabled = !!picked && picked.value.indexOf("reserve:") === 0;
    }
    box.addEventListener("change", sync);
    sync();
    if (!near || !list || !navigator.geolocation) return;
    near.hidden = false;
    near.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (at) {
        var lat = at.coords.latitude, lng = at.coords.longitude, rad = Math.PI / 180;
        var items = Array.prototype.slice.call(list.children).map(function (li) {
          var d = Infinity;
          if (li.dataset.lat !== "") {
            var p1 = lat * rad, p2 = +li.dataset.lat * rad, dl = (+li.dataset.lng - lng) * rad;
            var a = Math.pow(Math.sin((p2 - p1) / 2), 2) + Math.cos(p1) * Math.cos(p2) * Math.pow(Math.sin(dl / 2), 2);
            d = 12742 * Math.asin(Math.min(1, Math.sqrt(a)));
            var tag = li.querySelector(".store-distance");
            if (tag) { tag.textContent = " " + d.toFixed(1) + " km"; tag.hidden = false; }
          }
          return { li: li, d: d, stock: li.dataset.stock === "1" ? 0 : 1 };
        });
        // In stock first, always; then nearest (a nearer store with nothing stays below).
        items.sort(function (x, y) { return x.stock - y.stock || x.d - y.d; });
        items.forEach(function (it) { list.appendChild(it.li); });
        near.hidden = true;
      }, function () { near.hidden = true; }, { timeout: 10000, maximumAge: 600000 });
    });
  }

  function guardDoubleSubmit() {
    form.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      if (event.defaultPrevented) return; // a field is wrong: nothing was sent
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      // Disable after the browser has read the form, so the pressed button's value is sent.
      setTimeout(function () {
        form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
        if (submitter) submitter.textContent = tr("Processing\u2026");
      }, 0);
    });
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) location.reload();
    });
  }
})();
