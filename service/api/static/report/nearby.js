/* What a resident sees of the effect of reports: their village's status and how many
   people there reported this month; and, in survey mode, the nearest place that still needs
   measuring (GET /v1/nearby). Kept apart from app.js: it only reads, and only once the
   page already has the location permission (it never asks for it by itself). It asks
   again when the resident has moved (app.js's "deadzone:position", at most every
   REFRESH_M metres), after a report was stored ("deadzone:sent": the count moves), and it
   says it again in the language the resident switches to. */
(function () {
  "use strict";
  var TEXT = {
    vi: {
      trang_song: "trắng sóng (không có sóng ở trung tâm)",
      lom_song: "lõm sóng (có cụm dân cư mất sóng)",
      covered: "đã có sóng",
      unknown: "chưa đủ dữ liệu",
      village: "{name}: {status}. {n} người đã báo sóng ở đây trong tháng này.",
      village_one: "{name}: {status}. {n} người đã báo sóng ở đây trong tháng này.",
      village_prefix: "Thôn/buôn ",
      likely: " Ước tính, chưa đo: khả năng {p}% là {status}.",
      task: "Nơi gần nhất cần đo thêm: cách {d}.",
      list: "Xem danh sách",
      none: "Quanh đây không còn nơi nào cần đo thêm.",
      decimal: ","
    },
    en: {
      trang_song: "trắng sóng (no signal at the centre)",
      lom_song: "lõm sóng (a residential cluster without signal)",
      covered: "covered",
      unknown: "not enough readings",
      village: "{name}: {status}. {n} people reported here this month.",
      village_one: "{name}: {status}. {n} person reported here this month.",
      village_prefix: "Village ",
      likely: " Estimated, not measured: {status}, with probability {p}%.",
      task: "Nearest place still to measure: {d} away.",
      list: "Full list",
      none: "Nothing nearby still needs measuring.",
      decimal: "."
    }
  };
  // Asked again after the resident walked this far (a task is a 350 m hexagon).
  var REFRESH_M = 100;
  // Village names as imported mostly start with their kind; others get "Thôn/buôn ".
  var NAMED_KIND = /^(thôn|buôn|bon|plei|tổ|xóm|ấp|làng|bản|khối|village)\s/i;
  var last = null;      // the last answer, said again on a language switch
  var asked = null;     // where it was asked from

  // The page's language as app.js set it (a link's ?lang=, else the resident's choice).
  function language() { return document.documentElement.lang === "en" ? "en" : "vi"; }
  function t(key, values) {
    return TEXT[language()][key].replace(/\{(\w+)\}/g, function (m, k) {
      return values && k in values ? String(values[k]) : m;
    });
  }
  /* 611 m, or 2,7 km past a kilometre; a no-break space keeps the number with its unit. */
  function distance(m) {
    if (m < 1000) return Math.round(m) + "\u00a0m";
    return (Math.round(m / 100) / 10).toFixed(1).replace(".", t("decimal")) + "\u00a0km";
  }
  function render() {
    if (!last) return;
    var v = last.village;
    var where = document.getElementById("nearby-village");
    if (where && v) {
      var name = NAMED_KIND.test(v.name) ? v.name : t("village_prefix") + v.name;
      var n = v.reporters_this_month;
      var text = t(n === 1 ? "village_one" : "village", { name: name, status: t(v.status), n: n });
      if (v.likely_status) {
        // An estimate is never certain: shown between 1 and 99 %.
        var p = Math.min(99, Math.max(1, Math.round(100 * v.likely_probability)));
        text += t("likely", { status: t(v.likely_status), p: p });
      }
      where.textContent = text;
      where.hidden = false;
    }
    var task = document.getElementById("nearest-task");
    if (task) {
      task.textContent = last.task ? t("task", { d: distance(last.task.distance_m) }) + " " : t("none");
      if (last.task) {  // the list to walk: the resident's village's, else the province's
        var list = new URLSearchParams();
        if (v) list.set("village", v.code);
        if (language() === "en") list.set("lang", "en");
        var link = document.createElement("a");
        link.id = "tasks-link";
        link.href = "/tasks" + (list.toString() ? "?" + list.toString() : "");
        link.textContent = t("list");
        task.appendChild(link);
      }
      task.hidden = false;
    }
  }
  // Answers can come back out of order (a slow one for where the resident was, then a fast
  // one for where they are): only the answer to the latest question is shown.
  var asking = 0;
  // The position the page last announced (deadzone:position) and when it was taken: the
  // browser may answer a later question with an older position from its cache.
  var announcedAt = 0;
  var announced = null;
  function ask(lat, lon) {
    asked = { lat: lat, lon: lon };
    var mine = ++asking;
    var q = "lat=" + lat.toFixed(5) + "&lon=" + lon.toFixed(5);
    fetch("/v1/nearby?" + q, { cache: "no-store" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (body) {
      if (!body || mine !== asking) return;
      last = body;
      render();
    }).catch(function () { /* offline: nothing to add */ });
  }
  function metres(a, b) {  // equirectangular: plenty for a hundred metres
    var k = Math.PI / 180;
    var x = (b.lon - a.lon) * k * Math.cos((a.lat + b.lat) / 2 * k);
    return Math.sqrt(x * x + Math.pow((b.lat - a.lat) * k, 2)) * 6371008.8;
  }
  function locate() {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition(function (position) {
      // Whichever was taken last: this one, or the one the page announced.
      var here = announced && announcedAt >= position.timestamp ? announced
        : { lat: position.coords.latitude, lon: position.coords.longitude };
      ask(here.lat, here.lon);
    }, function () {}, { maximumAge: 600000, timeout: 20000 });
  }
  function start() {
    if (navigator.permissions && navigator.permissions.query) {
      navigator.permissions.query({ name: "geolocation" }).then(function (p) {
        if (p.state === "granted") locate();
      }).catch(function () {});
    }
    var toggle = document.getElementById("survey-toggle");
    if (toggle) toggle.addEventListener("click", locate);
    document.addEventListener("deadzone:position", function (event) {
      var here = event.detail;
      announcedAt = here.at || Date.now();
      announced = here;
      if (asked && metres(asked, here) >= REFRESH_M) ask(here.lat, here.lon);
    });
    document.addEventListener("deadzone:sent", function () {
      if (asked) ask(asked.lat, asked.lon);
    });
    if (window.MutationObserver) {
      new MutationObserver(render).observe(document.documentElement, { attributes: true, attributeFilter: ["lang"] });
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
