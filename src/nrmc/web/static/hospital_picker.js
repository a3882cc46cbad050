/* Hospital picker for any <input data-hospital-picker list="…">: as staff type a name, pinyin
   initials or a code, fill the input's datalist from /api/v1/hospitals/search and show the chosen
   hospital's county and city in #<id>-hint. Without this script the form still works: the
   server resolves what was typed. */
(function () {
  "use strict";
  var seen = {};

  function attach(input) {
    var list = input.list;
    var hint = document.getElementById(input.id + "-hint");
    var timer = null, last = "";
    if (!list) { return; }

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
  }

  Array.prototype.forEach.call(document.querySelectorAll("input[data-hospital-picker]"), attach);
})();
