/* "Cần đo thêm": a village team's list of places to measure, from GET /v1/tasks.
   Vietnamese first, English with ?lang=en. Names of villages come from imported files:
   they go into the page with textContent only. The map has no tile layer, so it works with
   no Internet: points and their walking order only. */
(function () {
  "use strict";
  var STRINGS = {
    vi: {
      title: "Cần đo thêm",
      intro: "Những nơi chưa ai đo đủ, nơi bà con sống, làm rẫy hay đi qua. Mỗi lần đến đo ở đây giúp biết chắc nhất bà con có sóng hay không.",
      how: "Mang theo hai điện thoại cho mỗi nhà mạng được ghi, mỗi máy đo ba lần, trong hai ngày khác nhau (chế độ “khảo sát” của trang báo sóng).",
      loading: "Đang tải…",
      none: "Hiện không có nơi nào cần đo thêm ở đây. Cảm ơn bà con!",
      failed: "Không tải được danh sách (mạng yếu?). Hãy thử lại sau.",
      offline_copy: "Không có mạng: đây là danh sách đã lưu trên máy lúc {time}.",
      bad_link: "Đường dẫn này không khớp với thôn/buôn, xã hay nhà mạng nào (đường dẫn cũ hoặc gõ sai?).",
      all_tasks: "Xem danh sách của cả tỉnh",
      count: "{n} nơi cần đo, xếp theo thứ tự đi bộ trong từng thôn/buôn.",
      share: "Chia sẻ danh sách này vào nhóm Zalo của thôn/buôn:",
      people: "{n} người",
      bring: "Mang SIM: {sims}",
      value: "ưu tiên {v}%",
      priority_note: "Ưu tiên: lần đo ở đây giúp biết chắc được bao nhiêu, so với nơi có ưu tiên cao nhất trong danh sách này (100%), tính theo số người sống ở đó và số nơi chưa rõ sóng quanh đó. Danh sách xếp theo đường đi, không theo ưu tiên: khi ít thời gian, hãy đến những nơi ưu tiên cao trước.",
      confirm_dead: "Có thể mất sóng, cần thêm máy đo để xác nhận",
      unmeasured: "Chưa ai đo ở đây",
      uncertain: "Chưa rõ có sóng hay không",
      other: "Ngoài thôn/buôn đã nhập",
      map: "Bản đồ các điểm cần đo",
      map_note: "Bản đồ không có nền (chạy không cần Internet): chấm là điểm cần đo, số là thứ tự đi.",
      qr: "Mã QR mở danh sách của {name}",
      scope: "Tính theo:",
      scope_any: "mọi loại sóng",
      scope_broadband: "băng rộng di động (4G, 5G)",
      lang: "English"
    },
    en: {
      title: "Where to measure next",
      intro: "Places nobody has measured enough, where people live, farm or pass. A visit here tells most about whether people have signal.",
      how: "Bring two phones for each operator listed, three readings each, on two different days (the reporter page's survey mode).",
      loading: "Loading…",
      none: "Nothing needs measuring here right now. Thank you!",
      failed: "Could not load the list (weak network?). Try again later.",
      offline_copy: "No connection: this is the list saved on this phone at {time}.",
      bad_link: "This link matches no village, commune or operator here (an old or mistyped link?).",
      all_tasks: "See the whole province's list",
      count: "{n} places to measure, in walking order within each village.",
      share: "Share this list in the village's Zalo group:",
      people: "{n} people",
      bring: "Bring SIMs: {sims}",
      value: "priority {v}%",
      priority_note: "Priority: how much a visit here settles, against the place of highest priority on this list (100%), counting the people who live there and the places around it whose signal is unsure. The list is in walking order, not by priority: when time is short, visit the high ones first.",
      confirm_dead: "Probably no signal: more phones needed to confirm",
      unmeasured: "Nobody has measured here",
      uncertain: "Signal uncertain",
      other: "Outside the imported villages",
      map: "Map of the places to measure",
      map_note: "The map has no background (works with no Internet): dots are places to measure, numbers the walking order.",
      qr: "QR code opening the list of {name}",
      scope: "Counted as:",
      scope_any: "any signal",
      scope_broadband: "mobile broadband (4G, 5G)",
      lang: "Tiếng Việt"
    }
  };
  var NAMES = { "452-01": "MobiFone", "452-02": "VinaPhone", "452-04": "Viettel",
                "452-05": "Vietnamobile", "452-07": "Gmobile" };
  var params = new URLSearchParams(window.location.search);
  var lang = params.get("lang") === "en" ? "en" : "vi";
  // Counts as the other pages write them (pages/common.js): vi-VN groups thousands with
  // ".", so 1234 people read "1.234 người", never "1234" nor the English "1,234".
  var whole = new Intl.NumberFormat(lang === "vi" ? "vi-VN" : "en-GB", { maximumFractionDigits: 0 });
  function int(value) { return whole.format(Math.round(value)); }
  function t(key, values) {
    var text = STRINGS[lang][key] || STRINGS.vi[key] || key;
    return text.replace(/\{(\w+)\}/g, function (m, k) { return values && k in values ? String(values[k]) : m; });
  }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }
  // The list's scope as this page was asked for it: a shared link and its QR code open
  // the same operator's list in the same scope over radios, not the default one.
  function scopeParams(q) {
    ["operator", "radio"].forEach(function (k) {
      var value = params.get(k);
      if (value && value !== "any") q.set(k, value);
    });
    if (lang === "en") q.set("lang", "en");
    return q;
  }
  function pageUrl(village) {
    var q = new URLSearchParams();
    q.set("village", village);
    return window.location.origin + "/tasks?" + scopeParams(q).toString();
  }
  function qrUrl(village) {
    var q = new URLSearchParams();
    q.set("village", village);
    return "/tasks/qr.svg?" + scopeParams(q).toString();
  }

  /* Says that the list is the copy kept on the phone, and when the server made it (its
     Date header), on Vietnam's clock. */
  function offlineNote(date) {
    var when = new Date(date);
    var time = isNaN(when.getTime()) ? "?" : new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "vi-VN", {
      timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", day: "2-digit", month: "2-digit"
    }).format(when);
    var note = document.createElement("p");
    note.id = "offline-copy";
    note.className = "notice";
    note.textContent = t("offline_copy", { time: time });
    var status = document.getElementById("status");
    status.parentNode.insertBefore(note, status.nextSibling);
  }

  function render(body) {
    var status = document.getElementById("status");
    var features = body.features || [];
    if (!features.length) { status.textContent = t("none"); return; }
    status.textContent = t("count", { n: int(features.length) });
    var top = Math.max.apply(null, features.map(function (f) { return f.properties.value; }));
    document.getElementById("priority-note").textContent = t("priority_note");
    var byCell = {};
    features.forEach(function (f) { byCell[f.properties.h3] = f; });
    var groups = (body.villages || []).slice();
    var grouped = {};
    groups.forEach(function (v) { v.tasks.forEach(function (h) { grouped[h] = true; }); });
    var others = features.filter(function (f) { return !grouped[f.properties.h3]; })
      .map(function (f) { return f.properties.h3; });
    if (others.length) groups.push({ code: null, name: t("other"), tasks: others });
    var section = document.getElementById("villages");
    var points = [];
    var number = 0;  // one numbering over the page: the map shows every village's places
    groups.forEach(function (village) {
      var card = el("article", null, "village");
      // A province holds many a "Thôn 1": the commune tells them apart.
      card.appendChild(el("h2", village.commune_name ? village.name + " · " + village.commune_name : village.name));
      if (village.code) {
        var share = el("div", null, "share");
        share.appendChild(el("span", t("share")));
        var link = el("a", pageUrl(village.code));
        link.href = pageUrl(village.code);
        share.appendChild(link);
        var qr = el("img");
        qr.src = qrUrl(village.code);
        qr.alt = t("qr", { name: village.name });
        share.appendChild(qr);
        card.appendChild(share);
      }
      var list = el("ol", null, "tasks");
      list.start = number + 1;
      village.tasks.forEach(function (h) {
        var f = byCell[h];
        if (!f) return;
        number += 1;
        var p = f.properties;
        var c = f.geometry.coordinates;
        var item = el("li");
        item.appendChild(el("span", t(p.reason) + " · " + t("people", { n: int(p.people) }) + " · "));
        var sims = p.operators.map(function (o) { return NAMES[o] || o; }).join(", ");
        item.appendChild(el("span", t("bring", { sims: sims }), "sims"));
        // The value (people-equivalents, GET /v1/tasks) means little to a team; its share of
        // the list's highest says which visits to keep when time is short.
        var priority = el("span", " · " + c[1].toFixed(5) + ", " + c[0].toFixed(5) + " · " +
          t("value", { v: top > 0 ? Math.round(100 * p.value / top) : 0 }), "small priority");
        priority.title = "value " + p.value.toFixed(1);
        item.appendChild(priority);
        item.setAttribute("data-h3", h);
        list.appendChild(item);
        points.push({ lat: c[1], lon: c[0], label: String(number) });
      });
      card.appendChild(list);
      section.appendChild(card);
    });
    drawMap(points);
  }

  function drawMap(points) {
    if (!window.L || !points.length) return;
    // The map and its note stay hidden until there is something to draw: an empty grey box
    // under "nothing to measure" or "this link matches nothing" reads as a broken page.
    document.getElementById("map").hidden = false;
    document.getElementById("map-note").hidden = false;
    var map = window.L.map("map", { attributionControl: false });
    map.fitBounds(points.map(function (p) { return [p.lat, p.lon]; }),
                  { padding: [20, 20], maxZoom: 16, animate: false });
    points.forEach(function (p) {
      window.L.circleMarker([p.lat, p.lon], { radius: 9, color: "#c00", weight: 2, fillOpacity: 0.25 }).addTo(map);
      var label = window.L.marker([p.lat, p.lon], {
        icon: window.L.divIcon({ className: "marker-label", html: "", iconSize: [20, 20] }),
        title: p.label, keyboard: false
      }).addTo(map);
      label.getElement().textContent = p.label;
    });
    document.body.setAttribute("data-map-ready", "true");
  }

  function start() {
    ["title", "intro", "how", "map_note"].forEach(function (id) {
      var node = document.getElementById(id === "map_note" ? "map-note" : id);
      if (node) node.textContent = t(id);
    });
    document.title = t("title") + " · deadzone";
    document.documentElement.lang = lang;
    document.getElementById("map").setAttribute("aria-label", t("map"));
    var sw = document.getElementById("lang-switch");
    var other = new URLSearchParams(window.location.search);
    if (lang === "en") other.delete("lang"); else other.set("lang", "en");
    sw.href = "?" + other.toString();
    sw.textContent = t("lang");
    sw.lang = lang === "en" ? "vi" : "en";
    document.getElementById("status").textContent = t("loading");
    // The scope over radios whose decisions settle a cell: any signal (default) or
    // broadband (LTE or NR), as /v1/tasks?radio= takes it.
    var radio = params.get("radio") === "broadband" ? "broadband" : "any";
    var scope = document.getElementById("scope");
    scope.setAttribute("data-radio", radio);
    scope.textContent = t("scope") + " ";
    ["any", "broadband"].forEach(function (r, i) {
      var here = new URLSearchParams(window.location.search);
      here.set("radio", r);
      var link = document.createElement("a");
      link.id = "scope-" + r;
      link.href = "?" + here.toString();
      link.textContent = t("scope_" + r);
      if (r === radio) link.setAttribute("aria-current", "page");
      if (i > 0) scope.appendChild(document.createTextNode(" · "));
      scope.appendChild(link);
    });
    var query = new URLSearchParams();
    ["commune", "village", "operator", "radio", "limit"].forEach(function (k) {
      if (params.get(k)) query.set(k, params.get(k));
    });
    // Offline, the service worker (sw.js) opens the page and answers with the last list.
    if (navigator.serviceWorker) {
      navigator.serviceWorker.register("/tasks/sw.js", { scope: "/tasks" }).catch(function () {});
    }
    var savedAt = null;
    fetch("/v1/tasks?" + query.toString(), { headers: { Accept: "application/geo+json" } })
      .then(function (r) {
        // A village or commune the service does not know (404) or a malformed value (422):
        // the link is wrong, and trying again would not help.
        if (r.status === 404 || r.status === 422) throw { badLink: true };
        if (!r.ok) throw new Error(String(r.status));
        if (r.headers.get("X-Deadzone-Offline-Copy")) savedAt = r.headers.get("Date") || "";
        return r.json();
      })
      .then(function (body) {
        render(body);
        if (savedAt !== null) offlineNote(savedAt);
      })
      .catch(function (error) {
        var status = document.getElementById("status");
        if (!(error && error.badLink)) { status.textContent = t("failed"); return; }
        status.textContent = t("bad_link") + " ";
        var all = document.createElement("a");
        all.id = "all-tasks";
        all.href = lang === "en" ? "/tasks?lang=en" : "/tasks";
        all.textContent = t("all_tasks");
        status.appendChild(all);
      })
      .finally(function () { document.body.setAttribute("data-ready", "true"); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
