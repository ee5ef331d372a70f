/* What a resident sees of the effect of reports: their village's status and how many
   neighbours reported this month; and, in survey mode, the nearest place that still needs
   measuring (GET /v1/nearby). Kept apart from app.js: it only reads, and only once the
   page already has the location permission (it never asks for it by itself). */
(function () {
  "use strict";
  var TEXT = {
    vi: {
      trang_song: "trắng sóng (không có sóng ở trung tâm)",
      lom_song: "lõm sóng (có cụm dân cư mất sóng)",
      covered: "đã có sóng",
      unknown: "chưa đủ dữ liệu",
      village: "Thôn/buôn {name}: {status}. {n} người đã báo sóng tháng này.",
      likely: " Ước tính, chưa đo: có thể {status} ({p}%).",
      task: "Nơi gần nhất cần đo thêm: cách {d} m.",
      list: "Xem danh sách",
      none: "Quanh đây không còn nơi nào cần đo thêm."
    },
    en: {
      trang_song: "trắng sóng (no signal at the centre)",
      lom_song: "lõm sóng (a residential cluster without signal)",
      covered: "covered",
      unknown: "not enough readings",
      village: "Village {name}: {status}. {n} neighbours reported this month.",
      likely: " Estimated, not measured: probably {status} ({p}%).",
      task: "Nearest place still to measure: {d} m away.",
      list: "Full list",
      none: "Nothing nearby still needs measuring."
    }
  };
  // The page's language as app.js set it (a link's ?lang=, else the resident's choice).
  function language() { return document.documentElement.lang === "en" ? "en" : "vi"; }
  function t(key, values) {
    return TEXT[language()][key].replace(/\{(\w+)\}/g, function (m, k) {
      return values && k in values ? String(values[k]) : m;
    });
  }
  function show(position) {
    var q = "lat=" + position.coords.latitude.toFixed(5) + "&lon=" + position.coords.longitude.toFixed(5);
    fetch("/v1/nearby?" + q).then(function (r) { return r.ok ? r.json() : null; }).then(function (body) {
      if (!body) return;
      var v = body.village;
      var where = document.getElementById("nearby-village");
      if (where && v) {
        var text = t("village", { name: v.name, status: t(v.status), n: v.reporters_this_month });
        if (v.likely_status) {
          text += t("likely", { status: t(v.likely_status), p: Math.round(100 * v.likely_probability) });
        }
        where.textContent = text;
        where.hidden = false;
      }
      var task = document.getElementById("nearest-task");
      if (task) {
        task.textContent = body.task ? t("task", { d: body.task.distance_m }) + " " : t("none");
        if (body.task) {  // the list to walk: the resident's village's, else the province's
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
    }).catch(function () { /* offline: nothing to add */ });
  }
  function locate() {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition(show, function () {}, { maximumAge: 600000, timeout: 20000 });
  }
  function start() {
    if (navigator.permissions && navigator.permissions.query) {
      navigator.permissions.query({ name: "geolocation" }).then(function (p) {
        if (p.state === "granted") locate();
      }).catch(function () {});
    }
    var toggle = document.getElementById("survey-toggle");
    if (toggle) toggle.addEventListener("click", locate);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
