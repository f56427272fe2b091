// Shows the admin center's times in the browser's time zone. The page
// writes each time as <time datetime="…Z">…UTC</time>; without this
// script they stay in UTC and say so.
(function () {
  "use strict";
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  var fmt = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit"
  });
  document.querySelectorAll("time[datetime]").forEach(function (t) {
    var d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d.getTime())) {
      t.title = t.textContent;
      t.textContent = fmt.format(d);
    }
  });
  var tz = document.getElementById("tz");
  if (tz) {
    tz.textContent = zone + " (your browser's time zone)";
    tz.setAttribute("data-local", "1"); // the times are converted
  }
})();
