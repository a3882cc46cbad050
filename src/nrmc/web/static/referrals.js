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
