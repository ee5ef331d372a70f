/* /progress: the province's covered share against the goal, its trend, the communes and the
   villages still dark. Reads /v1/progress/areas (now), /v1/progress (snapshots, goal, trend)
   and /v1/villages; draws with the vendored Chart.js. */
(function () {
  "use strict";

  var P = window.deadzonePages;
  var t = P.t;
  var fmt = P.fmt;
  var el = P.el;
  // A "dd/mm" date label at the chart's 12 px font is about 36 px wide; 48 px between two
  // leaves a gap a reader sees.
  var TICK_PX = 48;
  var STATUS_ORDER = { trang_song: 0, lom_song: 1, unknown: 2, covered: 3 };

  function $(id) { return document.getElementById(id); }

  function setup() {
    P.applyStrings(document);
    document.title = t("progress.title") + " · deadzone";
    P.setupLanguageSwitch($("lang-switch"));
    P.setupPrint($("print"));
    $("nav-plan").href = P.withLang("/plan");
    $("map-link").href = P.withLang("/maps/progress.html");
    // The CSV files in the page's language: Vietnamese headers, words and numbers for a
    // meeting (service/publish/sheets.py), English on the English page.
    ["export-communes", "export-dark", "export-unknown"].forEach(function (id) {
      $(id).href = P.withLang($(id).getAttribute("href"));
    });
    $("print-date").textContent = t("print.date", { date: fmt.today() });
  }

  /* The scope over radios the page shows: ?radio=broadband|any, else the goal's (the
     server's DEADZONE_GOAL_RADIO: /v1/progress/areas answers in it when not told). */
  var asked = P.params.get("radio");
  var RADIO = asked === "any" || asked === "broadband" ? asked : null;

  function withRadio(url, radio) {
    var target = new URL(url, window.location.href);
    target.searchParams.set("radio", radio);
    return target.pathname + target.search;
  }

  function renderScope(radio, goal) {
    var scope = $("scope");
    scope.setAttribute("data-radio", radio);
    scope.textContent = t("scope." + radio + "_says") +
      (radio === goal.radio ? " " + t("scope.is_goal") : " " + t("scope.goal_is", {
        goal: t("scope." + goal.radio)
      }));
    ["broadband", "any"].forEach(function (r) {
      var link = $("scope-" + r);
      var here = new URLSearchParams(window.location.search);
      here.set("radio", r);
      link.href = window.location.pathname + "?" + here.toString();
      if (r === radio) {
        link.setAttribute("aria-current", "page");
        link.classList.add("primary");
      } else {
        link.removeAttribute("aria-current");
        link.classList.remove("primary");
      }
    });
    $("map-link").href = P.withLang(withRadio("/maps/progress.html", radio));
    $("export-communes").href = withRadio($("export-communes").getAttribute("href"), radio);
    $("export-dark").href = withRadio($("export-dark").getAttribute("href"), radio);
    $("export-unknown").href = withRadio($("export-unknown").getAttribute("href"), radio);
  }

  function notice(node) {
    $("notices").appendChild(node);
  }

  function hasAreas(table) {
    var province = table.areas[0];
    var villages = province.villages_trang_song + province.villages_lom_song +
      province.villages_covered + province.villages_unknown;
    return table.areas.length > 1 || province.population > 0 || villages > 0;
  }

  function renderProvince(province, series) {
    var goal = series.goal;
    var trend = series.trend;
    $("province-share").textContent = fmt.percent(province.covered_share);
    $("province-share").setAttribute("data-value", String(province.covered_share));
    var verdict = $("verdict");
    verdict.textContent = t("verdict." + trend.status);
    verdict.className = "verdict verdict-" + trend.status;
    verdict.setAttribute("data-status", trend.status);
    $("province-goal").textContent = t("province.goal", {
      goal: fmt.percent(goal.covered_share, 0), deadline: fmt.day(goal.deadline)
    });
    var projection = [];
    if (trend.slope_per_day === null) {
      if (trend.status !== "reached") projection.push(t("projection.unknown"));
    } else if (trend.status !== "reached") {
      projection.push(t("projection.line", {
        n: fmt.int(trend.snapshots_used),
        slope: fmt.number(trend.slope_per_day * 7 * 100, 2),
        level: fmt.percent(trend.level_share),
        deadline: fmt.day(goal.deadline),
        projected: fmt.percent(trend.projected_share),
        low: fmt.percent(trend.projected_low),
        high: fmt.percent(trend.projected_high)
      }));
      if (trend.goal_met_on) {
        projection.push(t("projection.met_on", { date: fmt.day(trend.goal_met_on) }));
      } else {
        projection.push(t("projection.never"));
      }
    }
    $("projection").textContent = projection.join(" ");
    $("projection").hidden = projection.length === 0;
    $("province-people").textContent = t("province.people", {
      covered: fmt.int(province.people_covered),
      population: fmt.int(province.population),
      missing: fmt.int(province.population - province.people_covered)
    });
    // Weak (1 bar) apart from covered (2 bars or more): people_covered counts both.
    var weak = $("province-weak");
    weak.setAttribute("data-weak", String(province.people_weak));
    weak.setAttribute("data-well-covered", String(province.people_well_covered));
    weak.textContent = t("province.weak", {
      well: fmt.int(province.people_well_covered),
      well_share: fmt.percent(province.well_covered_share),
      weak: fmt.int(province.people_weak)
    });
    $("province-split").textContent = t("province.split", {
      covered: fmt.int(province.people_covered),
      dead: fmt.int(province.people_dead),
      est_covered: fmt.int(province.people_estimated_covered),
      est_dead: fmt.int(province.people_estimated_dead),
      unknown: fmt.int(province.people_unknown)
    });
    $("verdict-how").textContent = t("verdict.how", {
      unknown: fmt.percent(trend.max_unknown_share, 0)
    });
    var stats = $("province-stats");
    stats.textContent = "";
    [
      ["stat.trang_song", fmt.int(province.villages_trang_song), "trang_song"],
      ["stat.lom_song", fmt.int(province.villages_lom_song), "lom_song"],
      ["stat.covered", fmt.int(province.villages_covered), "covered"],
      ["stat.unknown", fmt.int(province.villages_unknown), "unknown"],
      ["stat.zones_open", fmt.int(province.zones_open), "zones_open"],
      ["stat.evidence_age", fmt.number(province.evidence_median_age_days, 1), "evidence_age"]
    ].forEach(function (item) {
      var box = el("div", "stat stat-" + item[2]);
      box.setAttribute("data-stat", item[2]);
      box.appendChild(el("dt", null, t(item[0])));
      box.appendChild(el("dd", null, item[1]));
      stats.appendChild(box);
    });
    $("province").hidden = false;
  }

  function renderAsOf(table) {
    if (table.aggregated_at) {
      $("as-of").textContent = t("data.as_of", { time: fmt.moment(table.aggregated_at) });
    } else {
      $("as-of").textContent = "";
      notice(P.commandHint(t("data.not_aggregated"), ["deadzone aggregate"]));
    }
  }

  /* The chart: the share per snapshot, the goal as a line up to the deadline, the deadline
     as an upright line, and the projection from where it starts (the level: people with
     signal among those measured or estimated, at the newest snapshot) to the share it reaches
     at the deadline. Drawn from the newest point instead, its slope was not the rate. x is
     in days (linear), so uneven gaps stay uneven. */
  function renderChart(series) {
    var points = series.series
      .filter(function (s) { return s.covered_share !== null; })
      .map(function (s) { return { x: P.dayNumber(s.day), y: s.covered_share * 100 }; });
    $("trend").hidden = false;
    if (points.length === 0) {
      $("chart-box").hidden = true;
      $("series-details").hidden = true;
      $("chart-empty").appendChild(P.commandHint(t("chart.no_snapshots"), ["deadzone snapshot"]));
      return null;
    }
    var goal = series.goal;
    var trend = series.trend;
    var deadline = P.dayNumber(goal.deadline);
    var first = points[0];
    var last = points[points.length - 1];
    var end = Math.max(deadline, last.x);
    var goalY = goal.covered_share * 100;
    var lows = points.map(function (p) { return p.y; }).concat([goalY]);
    if (trend.projected_share !== null) lows.push(trend.projected_share * 100);
    var yMin = Math.max(0, Math.floor((Math.min.apply(null, lows) - 5) / 10) * 10);
    var ticks = points.map(function (p) { return p.x; });
    if (ticks.indexOf(deadline) < 0) ticks.push(deadline);

    var datasets = [
      { label: t("chart.share"), data: points, borderColor: "#0b3d91", backgroundColor: "#0b3d91",
        borderWidth: 3, pointRadius: 4, order: 0 },
      { label: t("chart.goal"), data: [{ x: first.x, y: goalY }, { x: end, y: goalY }],
        borderColor: "#1b5e20", backgroundColor: "#1b5e20", borderDash: [8, 4], borderWidth: 2,
        pointRadius: 0, order: 2 }
    ];
    if (trend.projected_share !== null && trend.status !== "reached") {
      datasets.push({
        label: t("chart.projection"),
        data: [{ x: last.x, y: trend.level_share === null ? last.y : trend.level_share * 100 },
          { x: deadline, y: trend.projected_share * 100 }],
        borderColor: "#8a3d00", backgroundColor: "#8a3d00", borderDash: [3, 3], borderWidth: 2,
        pointRadius: [0, 5], pointStyle: "triangle", order: 1
      });
    }
    datasets.push({
      label: t("chart.deadline", { date: fmt.day(goal.deadline) }),
      data: [{ x: deadline, y: yMin }, { x: deadline, y: 100 }],
      borderColor: "#b71c1c", backgroundColor: "#b71c1c", borderDash: [2, 3], borderWidth: 2,
      pointRadius: 0, order: 3
    });

    var canvas = $("chart");
    canvas.setAttribute("aria-label", t("chart.label", {
      n: fmt.int(points.length),
      first: fmt.day(series.series[0].day),
      last: fmt.day(series.series[series.series.length - 1].day),
      from: fmt.percent(first.y / 100),
      to: fmt.percent(last.y / 100),
      goal: fmt.percent(goal.covered_share, 0),
      deadline: fmt.day(goal.deadline)
    }));
    canvas.setAttribute("data-points", String(points.length));
    var chart = new window.Chart(canvas, {
      type: "line",
      data: { datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "nearest", intersect: false },
        scales: {
          x: {
            type: "linear",
            min: first.x - 3,
            max: end + 3,
            afterBuildTicks: function (axis) {
              // Before its first layout the axis has no width: a phone's chart, about 300 px.
              var perDay = (axis.width || 300) / Math.max(1, axis.max - axis.min);
              var fit = P.spacedTicks(ticks, deadline, TICK_PX / perDay);
              axis.ticks = fit.map(function (v) { return { value: v }; });
            },
            ticks: {
              autoSkip: false,
              maxRotation: 0,
              callback: function (value) { return fmt.shortDay(P.dayFromNumber(value)); }
            }
          },
          y: {
            min: yMin,
            max: 100,
            title: { display: true, text: t("chart.share") },
            ticks: { callback: function (value) { return fmt.percent(value / 100, 0); } }
          }
        },
        plugins: {
          legend: { position: "bottom", labels: { usePointStyle: false, boxHeight: 2 } },
          tooltip: {
            callbacks: {
              title: function (items) {
                return items.length ? fmt.day(P.dayFromNumber(items[0].parsed.x)) : "";
              },
              label: function (item) {
                return item.dataset.label + ": " + fmt.percent(item.parsed.y / 100);
              }
            }
          }
        }
      }
    });
    renderSeriesTable(series.series);
    return chart;
  }

  function renderSeriesTable(rows) {
    P.sortableTable($("series-table"), [
      { key: "day", label: "col.day", text: function (r) { return fmt.day(r.day); } },
      { key: "covered_share", label: "col.covered_share", numeric: true,
        text: function (r) { return fmt.percent(r.covered_share); } },
      { key: "people_covered", label: "col.people_covered", numeric: true,
        text: function (r) { return fmt.int(r.people_covered); } },
      { key: "population", label: "col.population", numeric: true,
        text: function (r) { return fmt.int(r.population); } },
      { key: "villages_trang_song", label: "col.trang_song", numeric: true },
      { key: "villages_lom_song", label: "col.lom_song", numeric: true },
      { key: "villages_unknown", label: "col.villages_unknown", numeric: true },
      { key: "zones_open", label: "col.zones_open", numeric: true }
    ], rows, { key: "day", dir: "asc", rowKey: function (r) { return r.day; } });
  }

  function areaColumns() {
    return [
      { key: "name", label: "col.commune", value: function (r) { return r.name || r.code; } },
      { key: "code", label: "col.code" },
      { key: "population", label: "col.population", numeric: true,
        text: function (r) { return fmt.int(r.population); } },
      { key: "people_covered", label: "col.people_covered", numeric: true,
        text: function (r) { return fmt.int(r.people_covered); } },
      { key: "covered_share", label: "col.covered_share", numeric: true,
        text: function (r) { return fmt.percent(r.covered_share); } },
      { key: "gap_people", label: "col.gap_people", numeric: true,
        text: function (r) { return fmt.int(r.gap_people); } },
      { key: "gap_share", label: "col.gap_share", numeric: true,
        text: function (r) { return r.gap_share === null ? "–" : fmt.number(r.gap_share * 100, 1); } },
      { key: "villages_trang_song", label: "col.trang_song", numeric: true,
        text: function (r) { return fmt.int(r.villages_trang_song); } },
      { key: "villages_lom_song", label: "col.lom_song", numeric: true,
        text: function (r) { return fmt.int(r.villages_lom_song); } },
      { key: "villages_covered", label: "col.villages_covered", numeric: true,
        text: function (r) { return fmt.int(r.villages_covered); } },
      { key: "villages_unknown", label: "col.villages_unknown", numeric: true,
        text: function (r) { return fmt.int(r.villages_unknown); } },
      { key: "zones_open", label: "col.zones_open", numeric: true,
        text: function (r) { return fmt.int(r.zones_open); } },
      { key: "evidence_median_age_days", label: "col.evidence_age", numeric: true,
        text: function (r) { return fmt.number(r.evidence_median_age_days, 1); } }
    ];
  }

  function renderCommunes(table) {
    var communes = table.areas.filter(function (a) { return a.kind === "commune"; });
    var columns = areaColumns();
    $("communes").hidden = false;
    if (communes.length === 0) {
      $("communes-empty").hidden = false;
      $("communes-table").hidden = true;
      return null;
    }
    // The API lists communes by gap in people, most first (ties: by gap in share).
    var sorter = P.sortableTable($("communes-table"), columns, communes, {
      key: "gap_people", dir: "desc", rowKey: function (r) { return r.code; }
    });
    var province = table.areas[0];
    var foot = $("communes-table").querySelector("tfoot");
    foot.textContent = "";
    var tr = el("tr");
    tr.setAttribute("data-key", "province");
    columns.forEach(function (column, i) {
      var text = i === 0 ? t("communes.total")
        : column.key === "code" ? ""
        : column.text ? column.text(province) : province[column.key];
      var cell = el(i === 0 ? "th" : "td", column.numeric ? "num" : null, text);
      if (i === 0) cell.scope = "row";
      cell.setAttribute("data-col", column.key);
      tr.appendChild(cell);
    });
    foot.appendChild(tr);
    return sorter;
  }

  function renderVillages(villages, radio) {
    var commune = function (v) { return v.commune_name || v.commune_code || ""; };
    var dark = villages.filter(function (v) {
      return v.status === "trang_song" || v.status === "lom_song";
    });
    // Trắng sóng first, then the most people in dead cells (the table sorts stably).
    dark.sort(function (a, b) { return b.people_dead - a.people_dead; });
    $("villages").hidden = false;
    $("villages-none").hidden = dark.length > 0;
    $("villages-table").hidden = dark.length === 0;
    var sorter = null;
    if (dark.length) {
      sorter = P.sortableTable($("villages-table"), [
        { key: "name", label: "col.village" },
        { key: "commune", label: "col.commune", value: commune },
        { key: "status", label: "col.status",
          value: function (v) { return STATUS_ORDER[v.status]; },
          text: function (v) { return t("status." + v.status); },
          cellClass: function (v) { return "st st-" + v.status; } },
        { key: "population", label: "col.population", numeric: true,
          text: function (v) { return fmt.int(v.population); } },
        { key: "people_dead", label: "col.people_dead", numeric: true,
          text: function (v) { return fmt.int(v.people_dead); } },
        // What the status rests on (/v1/villages): readings, phones, newest reading.
        { key: "evidence_readings", label: "col.evidence", numeric: true,
          text: function (v) {
            return t("evidence.text", { readings: fmt.int(v.evidence_readings),
              devices: fmt.int(v.evidence_devices),
              seen: v.evidence_last_seen ? fmt.day(v.evidence_last_seen) : "—" });
          } },
        { key: "confidence", label: "col.confidence", numeric: true,
          text: function (v) { return fmt.percent(v.confidence, 0); } }
      ], dark, { key: "status", dir: "asc", rowKey: function (v) { return v.code; } });
    }
    var unknown = villages.filter(function (v) { return v.status === "unknown"; });
    var count = $("unknown-count");
    count.setAttribute("data-count", String(unknown.length));
    count.textContent = unknown.length
      ? t("unknown.count", { n: fmt.int(unknown.length) })
      : t("unknown.none");
    $("unknown-details").hidden = unknown.length === 0;
    $("export-unknown").hidden = unknown.length === 0;
    // The likeliest without signal first (their estimated status, /v1/villages'
    // likely_status: estimated, not measured); a village the estimate does not reach sits
    // at even odds.
    var dark = function (v) {
      if (v.likely_status === "trang_song") return v.likely_probability;
      if (v.likely_status === "covered") return 1 - v.likely_probability;
      return 0.5;
    };
    unknown.sort(function (a, b) { return dark(b) - dark(a) || a.name.localeCompare(b.name); });
    var list = $("unknown-list");
    list.textContent = "";
    unknown.forEach(function (v) {
      var item = el("li", null, v.name);
      item.setAttribute("data-village", v.code);
      var where = commune(v);
      if (where) item.appendChild(el("span", "muted", " · " + where));
      if (v.likely_status) {
        var likely = el("span", "likely likely-" + v.likely_status, " · " + t("unknown.likely", {
          status: t("likely." + v.likely_status), p: fmt.percent(v.likely_probability, 0)
        }));
        item.appendChild(likely);
      }
      item.appendChild(document.createTextNode(" · "));
      var tasks = el("a", "task-link", t("unknown.tasks"));
      tasks.href = P.withLang(withRadio("/tasks?village=" + encodeURIComponent(v.code), radio));
      item.appendChild(tasks);
      list.appendChild(item);
    });
    return sorter;
  }

  function load() {
    var areas = RADIO ? withRadio("/v1/progress/areas", RADIO) : "/v1/progress/areas";
    return P.getJSON(areas).then(function (table) {
      return Promise.all([
        table,
        P.getJSON(withRadio("/v1/progress", table.radio)),
        P.getJSON(withRadio("/v1/villages?status=trang_song&status=lom_song&status=unknown",
                            table.radio))
      ]);
    }).then(function (bodies) {
      var table = bodies[0];
      var series = bodies[1];
      var villages = bodies[2].villages;
      renderScope(table.radio, table.goal);
      P.showStatus($("status"), "");
      renderAsOf(table);
      P.progress = { table: table, series: series };
      if (!hasAreas(table)) {
        notice(P.commandHint(t("empty.no_areas"), [
          "deadzone import-areas communes.geojson", "deadzone import-areas villages.geojson"
        ]));
      } else {
        renderProvince(table.areas[0], series);
        P.communes = renderCommunes(table);
        P.villages = renderVillages(villages, table.radio);
      }
      P.chart = renderChart(series);
    }).catch(function (error) {
      P.showStatus($("status"), t("load.failed", { detail: error.message }), "error");
    });
  }

  setup();
  load().then(function () {
    P.ready = true;
    document.body.setAttribute("data-ready", "true");
  });
})();
