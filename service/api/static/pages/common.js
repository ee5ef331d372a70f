/* What /progress and /plan share: the language, texts, number and date formats, fetching
   JSON from the service, and sortable tables.

   Every value that comes from the data (names of communes and villages above all: they are
   imported from files) is put into the page with textContent, never innerHTML, so markup in
   a name is shown as the text it is. */
(function () {
  "use strict";

  var STRINGS = window.DZ_PAGE_STRINGS;
  var params = new URLSearchParams(window.location.search);
  var lang = params.get("lang") === "en" ? "en" : "vi";
  // vi-VN groups thousands with "." and writes decimals with ",": 1.234,5.
  var locale = lang === "vi" ? "vi-VN" : "en-GB";
  var numberFormats = {};

  function t(key, values) {
    var text = STRINGS[lang][key];
    if (text === undefined) {
      text = STRINGS.vi[key] !== undefined ? STRINGS.vi[key] : key;
    }
    return text.replace(/\{(\w+)\}/g, function (match, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name)
        ? String(values[name])
        : match;
    });
  }

  /* Texts of the static markup: data-i18n sets the text, data-i18n-label the aria-label. */
  function applyStrings(root) {
    document.documentElement.lang = lang;
    root.querySelectorAll("[data-i18n]").forEach(function (node) {
      node.textContent = t(node.getAttribute("data-i18n"));
    });
    root.querySelectorAll("[data-i18n-label]").forEach(function (node) {
      node.setAttribute("aria-label", t(node.getAttribute("data-i18n-label")));
    });
  }

  function numberFormat(options) {
    var key = JSON.stringify(options);
    if (!numberFormats[key]) {
      numberFormats[key] = new Intl.NumberFormat(locale, options);
    }
    return numberFormats[key];
  }

  var DASH = "–";

  /* People and counts: whole numbers, grouped. */
  function int(value) {
    if (value === null || value === undefined) return DASH;
    return numberFormat({ maximumFractionDigits: 0 }).format(Math.round(value));
  }

  function number(value, digits) {
    if (value === null || value === undefined) return DASH;
    return numberFormat({ minimumFractionDigits: digits, maximumFractionDigits: digits })
      .format(value);
  }

  /* A share (0-1) as a percentage, one decimal unless told: 0.9644 -> "96,4%" (vi),
     "96.4%" (en). */
  function percent(share, digits) {
    if (share === null || share === undefined) return DASH;
    var d = digits === undefined ? 1 : digits;
    return numberFormat({ style: "percent", minimumFractionDigits: d, maximumFractionDigits: d })
      .format(share);
  }

  function isoToUtc(iso) {
    var parts = iso.slice(0, 10).split("-").map(Number);
    return new Date(Date.UTC(parts[0], parts[1] - 1, parts[2]));
  }

  // Vietnamese pages write days dd/mm/yyyy and times in Vietnam's time zone (UTC+7, no
  // daylight saving; domain/localtime.py), whatever the reader's browser is set to: an
  // English Windows or a laptop on another zone must not print 12/31/2026 or yesterday's
  // date in a provincial report. Built from parts, not from the locale's pattern, so a
  // browser without Vietnamese locale data writes the same.
  var VIETNAM_TZ = "Asia/Ho_Chi_Minh";

  function pad2(n) { return (Number(n) < 10 ? "0" : "") + Number(n); }

  function ddmmyyyy(year, month, dayOfMonth) {
    return pad2(dayOfMonth) + "/" + pad2(month) + "/" + year;
  }

  /* Year, month, day, hour and minute of an instant on Vietnam's clock. */
  function vietnamParts(date) {
    var parts = {};
    new Intl.DateTimeFormat("en-US", {
      timeZone: VIETNAM_TZ, year: "numeric", month: "numeric", day: "numeric",
      hour: "numeric", minute: "numeric", hourCycle: "h23"
    }).formatToParts(date).forEach(function (p) { parts[p.type] = p.value; });
    return parts;
  }

  /* The day in Vietnam of an instant (RFC 3339), as "2026-12-31". */
  function vietnamDay(iso) {
    var p = vietnamParts(new Date(iso));
    return p.year + "-" + pad2(p.month) + "-" + pad2(p.day);
  }

  /* A day ("2026-12-31"), as it is: no time zone may move it to the day before. */
  function day(iso) {
    if (!iso) return DASH;
    if (lang === "vi") {
      var d = iso.slice(0, 10).split("-");
      return ddmmyyyy(d[0], d[1], d[2]);
    }
    var options = { timeZone: "UTC", day: "numeric", month: "short", year: "numeric" };
    return new Intl.DateTimeFormat(locale, options).format(isoToUtc(iso));
  }

  /* A day without its year, for chart ticks: "30/8" (vi), "30 Aug" (en). */
  function shortDay(iso) {
    if (lang === "vi") {
      var d = isoToUtc(iso);
      return d.getUTCDate() + "/" + (d.getUTCMonth() + 1);
    }
    var options = lang === "vi"
      ? { timeZone: "UTC", day: "numeric", month: "numeric" }
      : { timeZone: "UTC", day: "numeric", month: "short" };
    return new Intl.DateTimeFormat(locale, options).format(isoToUtc(iso));
  }

  /* A moment (RFC 3339) on Vietnam's clock, in either language: "08:30 31/12/2026" on
     Vietnamese pages, the reader's format with "GMT+7" in English. The maps, the files and
     the meeting all date by the province's clock; an English page in the reader's own time
     zone showed another day than the map beside it. */
  function moment(iso) {
    if (!iso) return DASH;
    if (lang === "vi") {
      var p = vietnamParts(new Date(iso));
      return pad2(p.hour) + ":" + pad2(p.minute) + " " + ddmmyyyy(p.year, p.month, p.day);
    }
    return new Intl.DateTimeFormat(locale, {
      day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit",
      timeZone: VIETNAM_TZ, timeZoneName: "short"
    }).format(new Date(iso));
  }

  /* The day of a moment (RFC 3339) in Vietnam, in either language (the day a meeting
     reads: 20:00 UTC on the 30th is the 1st in Buôn Ma Thuột). */
  function momentDay(iso) {
    if (!iso) return DASH;
    return day(vietnamDay(iso));
  }

  /* Today in Vietnam, for a printed report's date. */
  function today() {
    return momentDay(new Date().toISOString());
  }

  /* Days since 1970-01-01 (UTC): the chart's x axis. */
  function dayNumber(iso) {
    return Math.round(isoToUtc(iso).getTime() / 86400000);
  }

  function dayFromNumber(n) {
    return new Date(n * 86400000).toISOString().slice(0, 10);
  }

  /* The date ticks of a time axis that fit without overlapping: ``days`` (day numbers, in
     order) thinned so that two kept ticks lie at least ``gap`` days apart. ``last`` (the
     deadline) is always kept and the dates within ``gap`` of it give way, the first one too;
     the others are kept from the first on. Chart.js's autoSkip assumes
     evenly spaced ticks: snapshots taken at uneven dates, or a deadline a week after the last
     one, printed their labels over each other on a phone. */
  function spacedTicks(days, last, gap) {
    var kept = [];
    days.forEach(function (d) {
      if (d === last || Math.abs(last - d) < gap) return;
      if (!kept.length || d - kept[kept.length - 1] >= gap) kept.push(d);
    });
    kept.push(last);
    return kept.sort(function (a, b) { return a - b; });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /* The API key for one operator's data (service/access.py), kept in this tab only: the
     key field has no name, so it never lands in the address bar or the history. */
  var KEY_STORE = "deadzone.apiKey";

  function apiKey() {
    try { return window.sessionStorage.getItem(KEY_STORE) || ""; } catch (e) { return ""; }
  }

  function setApiKey(value) {
    try {
      if (value) window.sessionStorage.setItem(KEY_STORE, value);
      else window.sessionStorage.removeItem(KEY_STORE);
    } catch (e) { /* storage disabled: the key lasts for this page only */ }
  }

  function getJSON(url) {
    var headers = { Accept: "application/json" };
    if (apiKey()) headers["X-Deadzone-Key"] = apiKey();
    return fetch(url, { headers: headers }).then(function (response) {
      if (response.ok) return response.json();
      return response.text().then(function (body) {
        var detail = "HTTP " + response.status;
        try {
          detail += ": " + JSON.parse(body).message;
        } catch (e) { /* not JSON: the status says enough */ }
        throw new Error(detail);
      });
    });
  }

  /* ``url`` with this page's language added, for links to the other pages and maps. */
  function withLang(url) {
    var target = new URL(url, window.location.href);
    target.searchParams.set("lang", lang);
    return target.pathname + target.search;
  }

  /* The language switch: the same page and options in the other language. */
  function setupLanguageSwitch(link) {
    var other = new URLSearchParams(window.location.search);
    other.set("lang", lang === "vi" ? "en" : "vi");
    link.href = window.location.pathname + "?" + other.toString();
    link.textContent = t("lang.switch");
    link.setAttribute("lang", lang === "vi" ? "en" : "vi");
    link.setAttribute("hreflang", lang === "vi" ? "en" : "vi");
    link.setAttribute("aria-label", t("lang.switch_label"));
  }

  function showStatus(node, text, kind) {
    node.textContent = text;
    node.className = "status" + (kind ? " " + kind : "");
    node.hidden = !text;
  }

  /* A paragraph: a text, then commands to run, each in its own <code>. */
  function commandHint(text, commands) {
    var p = el("p", "hint", text);
    commands.forEach(function (command) {
      p.appendChild(document.createTextNode(" "));
      p.appendChild(el("code", null, command));
    });
    return p;
  }

  /* A sortable table.

     columns: [{key, label (string key), numeric, value(row) for sorting, text(row) shown,
     cellClass}]. Header cells hold buttons (keyboard: Tab then Enter or Space), with
     aria-sort on the sorted column. Empty values sort last in both directions. Returns an
     object whose sort(key, dir) re-sorts. */
  function sortableTable(table, columns, rows, options) {
    var state = { key: options.key, dir: options.dir };
    var thead = table.querySelector("thead") || table.appendChild(el("thead"));
    var tbody = table.querySelector("tbody") || table.appendChild(el("tbody"));
    thead.textContent = "";
    var headRow = thead.appendChild(el("tr"));
    var headers = {};
    columns.forEach(function (column) {
      var th = el("th");
      th.scope = "col";
      th.setAttribute("data-key", column.key);
      if (column.numeric) th.className = "num";
      var button = el("button", "sort");
      button.type = "button";
      button.title = t("sort.hint");
      button.appendChild(el("span", null, t(column.label)));
      button.appendChild(el("span", "arrow"));
      button.querySelector(".arrow").setAttribute("aria-hidden", "true");
      button.addEventListener("click", function () {
        var dir = state.key === column.key
          ? (state.dir === "asc" ? "desc" : "asc")
          : (column.numeric ? "desc" : "asc");
        sort(column.key, dir);
      });
      th.appendChild(button);
      headRow.appendChild(th);
      headers[column.key] = th;
    });

    function valueOf(column, row) {
      return column.value ? column.value(row) : row[column.key];
    }

    function sort(key, dir) {
      state.key = key;
      state.dir = dir;
      var column = columns.filter(function (c) { return c.key === key; })[0];
      var sign = dir === "asc" ? 1 : -1;
      var collator = new Intl.Collator(locale, { numeric: true, sensitivity: "base" });
      var ordered = rows.map(function (row, index) { return { row: row, index: index }; });
      ordered.sort(function (a, b) {
        var x = valueOf(column, a.row);
        var y = valueOf(column, b.row);
        var xEmpty = x === null || x === undefined;
        var yEmpty = y === null || y === undefined;
        if (xEmpty || yEmpty) {
          if (xEmpty && yEmpty) return a.index - b.index;
          return xEmpty ? 1 : -1;
        }
        var c = typeof x === "number" && typeof y === "number"
          ? x - y
          : collator.compare(String(x), String(y));
        return c !== 0 ? sign * c : a.index - b.index;
      });
      render(ordered.map(function (o) { return o.row; }));
      Object.keys(headers).forEach(function (k) {
        var th = headers[k];
        var arrow = th.querySelector(".arrow");
        if (k === key) {
          th.setAttribute("aria-sort", dir === "asc" ? "ascending" : "descending");
          arrow.textContent = dir === "asc" ? " ▲" : " ▼";
        } else {
          th.removeAttribute("aria-sort");
          arrow.textContent = "";
        }
      });
      table.setAttribute("data-sort", key + ":" + dir);
    }

    function render(ordered) {
      tbody.textContent = "";
      ordered.forEach(function (row) {
        var tr = el("tr");
        if (options.rowKey) tr.setAttribute("data-key", options.rowKey(row));
        columns.forEach(function (column) {
          var td = el("td", column.numeric ? "num" : null,
                      column.text ? column.text(row) : valueOf(column, row));
          if (column.cellClass) td.className += " " + column.cellClass(row);
          td.setAttribute("data-col", column.key);
          tr.appendChild(td);
        });
        tbody.appendChild(tr);
      });
    }

    sort(state.key, state.dir);
    return { sort: sort, state: state };
  }

  /* Print: open every <details> so that the printed report holds the full lists, and let
     charts redraw at the paper's width. */
  function setupPrint(button) {
    if (button) {
      button.addEventListener("click", function () { window.print(); });
    }
    function beforePrint() {
      document.querySelectorAll("details").forEach(function (d) { d.open = true; });
      if (window.Chart) {
        Object.values(window.Chart.instances).forEach(function (chart) { chart.resize(); });
      }
    }
    window.addEventListener("beforeprint", beforePrint);
    var printMedia = window.matchMedia("print");
    if (printMedia.addEventListener) {
      printMedia.addEventListener("change", function (event) { if (event.matches) beforePrint(); });
    }
  }

  window.deadzonePages = {
    lang: lang,
    locale: locale,
    params: params,
    strings: STRINGS,
    t: t,
    applyStrings: applyStrings,
    fmt: { int: int, number: number, percent: percent, day: day, shortDay: shortDay, moment: moment,
           momentDay: momentDay, today: today },
    dayNumber: dayNumber,
    dayFromNumber: dayFromNumber,
    spacedTicks: spacedTicks,
    el: el,
    getJSON: getJSON,
    apiKey: apiKey,
    setApiKey: setApiKey,
    withLang: withLang,
    setupLanguageSwitch: setupLanguageSwitch,
    setupPrint: setupPrint,
    showStatus: showStatus,
    commandHint: commandHint,
    sortableTable: sortableTable,
    ready: false
  };
})();
