// clinicflow's pages: the one script of ours (no inline script anywhere: the CSP forbids it).
// It tells the server the viewer's time zone, so times can be shown in it too.
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) { return; }
  var had = document.cookie.split("; ").some(function (c) { return c === "cf_tz=" + encodeURIComponent(zone); });
  if (had) { return; }
  document.cookie = "cf_tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
  // Shown once in the clinic's zone only: show it again with the viewer's, when it differs.
  var clinic = document.body && document.body.getAttribute("data-clinic-tz");
  if (clinic && clinic !== zone && document.querySelector("[data-times]")) { location.reload(); }
})();
