/* A fresh idempotency key for each view of the new-referral form, so two tabs opened from one
   (cached) page never share one; without this script the server's key is used. */
(function () {
  "use strict";
  var key = document.querySelector('#referral-form input[name="idempotency_key"]');
  if (!key || !window.crypto || !window.crypto.getRandomValues) { return; }
  var bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  key.value = Array.prototype.map.call(bytes, function (b) {
    return ("0" + b.toString(16)).slice(-2);
  }).join("");
}());

/* Hospital picker of the new-referral form: as staff type a name, pinyin initials or a code,
   fill the datalist from /api/v1/hospitals/search and show the chosen hospital's county and
   city. Without this script the form still works: the server resolves what was typed. */
(function () {
  "use strict";
  var input = document.getElementById("to_hospital");
  var list = document.getElementById("hospital-options");
  var hint = document.getElementById("to_hospital-hint");
  if (!input || !list) { return; }
  var timer = null, seen = {}, last = "";

  function show() {
    var pick = seen[input.value.trim()];
    if (hint) { hint.textContent = pick ? pick.label + " · " + pick.code : ""; }
  }

  function fill(items) {
    list.textContent = "";
    items.forEach(function (h) {
      seen[h.code] = h;
      var option = document.createElement("option");
      option.value = h.code;
      option.textContent = h.label;
      list.appendChild(option);
    });
    input.setAttribute("data-options", String(items.length));
    show();
  }

  function search() {
    var q = input.value.trim();
    if (!q || q === last || seen[q]) { show(); return; }
    last = q;
    fetch("/api/v1/hospitals/search?limit=20&q=" + encodeURIComponent(q),
          { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (items) { if (input.value.trim() === q) { fill(items); } })
      .catch(function () { /* the server still resolves what was typed */ });
  }

  input.addEventListener("input", function () {
    show();
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(search, 200);
  });
  input.addEventListener("change", show);
})();
