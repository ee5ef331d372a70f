/* /progress, the weekly meeting's part: commitments per operator and what changed since
   last week (villages, zones, people covered per commune). Reads /v1/progress/weekly; kept
   apart from progress.js so each part of the page can change on its own. */
(function () {
  "use strict";

  var P = window.deadzonePages;
  var t = P.t;
  var fmt = P.fmt;

  function $(id) { return document.getElementById(id); }

  function statusText(status) {
    return status ? t("status." + status) : t("status.none");
  }

  function signed(value) {
    if (value === null || value === undefined) return "–";
    return (value > 0 ? "+" : "") + fmt.int(value);
  }

  function renderOperators(rows) {
    $("operators").hidden = false;
    $("operators-none").hidden = rows.length > 0;
    $("operators-table").hidden = rows.length === 0;
    if (!rows.length) return;
    var count = function (key) {
      return { key: key, label: "col." + key, numeric: true,
               text: function (r) { return fmt.int(r[key]); } };
    };
    P.sortableTable($("operators-table"), [
      { key: "operator", label: "col.operator",
        value: function (r) { return r.operator + " " + r.name; } },
      count("assigned"), count("planned"), count("on_air"), count("verified"),
      count("still_dead"), count("overdue")
    ], rows, { key: "operator", dir: "asc", rowKey: function (r) { return r.operator; } });
  }

  function zoneTable(table, none, zones, names) {
    none.hidden = zones.length > 0;
    table.hidden = zones.length === 0;
    if (!zones.length) return;
    P.sortableTable(table, [
      { key: "id", label: "col.zone" },
      { key: "villages", label: "col.villages",
        value: function (z) { return z.villages.map(function (c) { return names[c] || c; }).join(", "); } },
      { key: "cells", label: "col.cells", numeric: true },
      { key: "population", label: "col.people", numeric: true,
        text: function (z) { return fmt.int(z.population); } }
    ], zones, { key: "population", dir: "desc", rowKey: function (z) { return z.id; } });
  }

  function renderWeekly(body, names) {
    $("weekly").hidden = false;
    if (!body.since) {
      $("weekly-hint").appendChild(P.commandHint(t("weekly.no_baseline"), ["deadzone snapshot"]));
    } else {
      $("weekly-since").textContent = t("weekly.since", { since: fmt.day(body.since) });
    }
    var villages = body.villages;
    $("weekly-villages-none").hidden = villages.length > 0;
    $("weekly-villages").hidden = villages.length === 0;
    if (villages.length) {
      P.sortableTable($("weekly-villages"), [
        { key: "name", label: "col.village" },
        { key: "commune", label: "col.commune",
          value: function (v) { return v.commune_name || v.commune_code || ""; } },
        { key: "before", label: "col.before", value: function (v) { return statusText(v.before); },
          cellClass: function (v) { return "st st-" + (v.before || "none"); } },
        { key: "now", label: "col.now", value: function (v) { return statusText(v.now); },
          cellClass: function (v) { return "st st-" + v.now; } },
        { key: "population", label: "col.population", numeric: true,
          text: function (v) { return fmt.int(v.population); } }
      ], villages, { key: "name", dir: "asc", rowKey: function (v) { return v.code; } });
    }
    zoneTable($("weekly-opened"), $("weekly-opened-none"), body.zones_opened, names);
    var firstMapped = body.zones_first_mapped || 0;
    $("weekly-first-mapped").hidden = firstMapped === 0;
    $("weekly-first-mapped").textContent = firstMapped
      ? t("weekly.zones_first_mapped", { count: fmt.int(firstMapped) }) : "";
    zoneTable($("weekly-closed"), $("weekly-closed-none"), body.zones_closed, names);
    var communes = body.communes;
    $("weekly-communes").hidden = communes.length === 0;
    if (communes.length) {
      P.sortableTable($("weekly-communes"), [
        // The province first (a sort value below every name), then the communes by name.
        { key: "name", label: "col.commune",
          value: function (c) { return c.kind === "province" ? "" : (c.name || c.code); },
          text: function (c) { return c.kind === "province" ? t("communes.total") : (c.name || c.code); } },
        { key: "people_covered_before", label: "col.before", numeric: true,
          text: function (c) { return fmt.int(c.people_covered_before); } },
        { key: "people_covered_now", label: "col.now", numeric: true,
          text: function (c) { return fmt.int(c.people_covered_now); } },
        { key: "change", label: "col.change", numeric: true,
          text: function (c) { return signed(c.change); } }
      ], communes, { key: "name", dir: "asc", rowKey: function (c) { return c.code; } });
    }
  }

  function load() {
    return Promise.all([
      P.getJSON("/v1/progress/weekly"),
      P.getJSON("/v1/villages?status=trang_song&status=lom_song&status=covered&status=unknown")
    ]).then(function (bodies) {
      var body = bodies[0];
      var names = {};
      bodies[1].villages.forEach(function (v) { names[v.code] = v.name; });
      $("print-weekly").textContent = t("weekly.print", {
        province: body.province, date: fmt.momentDay(body.generated_at)
      });
      renderOperators(body.operators);
      renderWeekly(body, names);
    }).catch(function (error) {
      var note = document.createElement("p");
      note.className = "status error";
      note.textContent = t("load.failed", { detail: error.message });
      $("weekly").hidden = false;
      $("weekly").appendChild(note);
    });
  }

  load().then(function () { document.body.setAttribute("data-weekly-ready", "true"); });
})();
