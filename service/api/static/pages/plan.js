/* /plan: dead zones ranked for one operator and the sites that would newly cover the most
   people. Reads /v1/deadzones, /v1/plan, /v1/villages (names) and /v1/summary (freshness);
   links the same tables as CSV and GeoJSON downloads and the dead-zone map. */
(function () {
  "use strict";

  var P = window.deadzonePages;
  var t = P.t;
  var fmt = P.fmt;
  var el = P.el;
  var ZONES_SHOWN = 50;
  var DEFAULT_SITES = 5;
  // The operator choice the API accepts, from the server (domain/vocabulary.py).
  var OPERATOR = new RegExp(window.DEADZONE_VOCABULARY.scope_pattern);

  function $(id) { return document.getElementById(id); }

  /* The choice in the address (?operator=&sites=), checked: anything else falls back to
     the defaults rather than reaching the API as it is. */
  function choice() {
    var operator = P.params.get("operator") || "any";
    if (!OPERATOR.test(operator)) operator = "any";
    var sites = parseInt(P.params.get("sites"), 10);
    if (!(sites >= 1 && sites <= 100)) sites = DEFAULT_SITES;
    // The site design of the request: only values the API accepts reach it.
    var design = {};
    var band = P.params.get("band");
    if (["700", "900", "1800", "2100", "2600"].indexOf(band) >= 0) design.band = band;
    var mast = parseFloat(P.params.get("mast_height"));
    if (mast >= 30 && mast <= 200) design.mast_height = String(mast);
    var eirp = parseFloat(P.params.get("eirp"));
    if (eirp >= 30 && eirp <= 80) design.eirp = String(eirp);
    var commune = (P.params.get("commune") || "").trim();
    if (commune && commune.length <= 32) design.commune = commune;
    // Whose people are the targets: without any signal (default), or without broadband
    // (LTE or NR: people reached only on 3G too).
    if (P.params.get("radio") === "broadband") design.radio = "broadband";
    if (P.params.get("colocate") === "true") design.colocate = "true";
    // Candidate constraints (imported power network and roads); a road distance only
    // with road=true, which the API requires.
    if (P.params.get("power") === "true") design.power = "true";
    if (P.params.get("road") === "true") {
      design.road = "true";
      var roadDistance = parseFloat(P.params.get("road_distance"));
      if (roadDistance >= 0 && roadDistance <= 5000) design.road_distance = String(roadDistance);
    }
    return { operator: operator, sites: sites, design: design };
  }

  function planValues(chosen, extra) {
    var values = { operator: chosen.operator, sites: chosen.sites };
    Object.keys(chosen.design).forEach(function (k) { values[k] = chosen.design[k]; });
    Object.keys(extra || {}).forEach(function (k) { values[k] = extra[k]; });
    return values;
  }

  /* The zones of the chosen operator, in the chosen scope (without any signal, or without
     broadband; the default stays out of the address) and commune, as the sites'. */
  function zoneValues(chosen, extra) {
    var values = { operator: chosen.operator };
    if (chosen.design.radio) values.radio = chosen.design.radio;
    if (chosen.design.commune) values.commune = chosen.design.commune;
    Object.keys(extra || {}).forEach(function (k) { values[k] = extra[k]; });
    return values;
  }

  function query(values) {
    return new URLSearchParams(values).toString();
  }

  /* Links (downloads, the map) cannot send a header: a key for one operator's data goes
     in their query string, and only when one is needed. */
  function linkQuery(values) {
    if (values.operator !== "any" && P.apiKey()) values.api_key = P.apiKey();
    return query(values);
  }

  function setup(chosen) {
    P.applyStrings(document);
    document.title = t("plan.title") + " · deadzone";
    P.setupLanguageSwitch($("lang-switch"));
    P.setupPrint($("print"));
    $("nav-progress").href = P.withLang("/progress");
    $("print-date").textContent = t("print.date", { date: fmt.today() });
    var select = $("operator");
    if (!Array.prototype.some.call(select.options, function (o) { return o.value === chosen.operator; })) {
      var option = el("option", null, chosen.operator);
      option.value = chosen.operator;
      select.appendChild(option);
    }
    select.value = chosen.operator;
    $("sites").value = String(chosen.sites);
    $("band").value = chosen.design.band || "";
    $("mast_height").value = chosen.design.mast_height || "";
    $("eirp").value = chosen.design.eirp || "";
    $("commune").value = chosen.design.commune || "";
    $("radio").value = chosen.design.radio || "any";
    $("colocate").checked = chosen.design.colocate === "true";
    $("power").checked = chosen.design.power === "true";
    $("road").checked = chosen.design.road === "true";
    $("road_distance").value = chosen.design.road_distance || "";
    // Empty fields stay out of the address: the API would refuse an empty number.
    $("choice").addEventListener("submit", function () {
      ["band", "mast_height", "eirp", "commune", "road_distance"].forEach(function (id) {
        $(id).disabled = !$(id).value;
      });
      if (!$("road").checked) $("road_distance").disabled = true;
      $("radio").disabled = $("radio").value === "any";  // the default stays out too
    });
    $("lang").value = P.lang;
    var label = select.options[select.selectedIndex].textContent;
    $("print-choice").textContent = t("form.operator") + ": " + label + " · " +
      t("form.sites_short") + ": " + chosen.sites + " · " + t("form.radio") + ": " +
      t(chosen.design.radio === "broadband" ? "form.radio_broadband" : "form.radio_any");

    var key = $("api-key");
    key.value = P.apiKey();
    key.addEventListener("change", function () { P.setApiKey(key.value.trim()); });
    $("choice").addEventListener("submit", function () { P.setApiKey(key.value.trim()); });

    // The map draws the plan of this page: the same band, mast, constraints and commune.
    $("map-link").href = "/maps/deadzones.html?" + linkQuery(planValues(chosen, { lang: P.lang }));
    // CSV files in the page's language (service/publish/sheets.py).
    $("download-zones-csv").href = "/v1/deadzones?" +
      linkQuery(zoneValues(chosen, { format: "csv", lang: P.lang }));
    $("download-zones-geojson").href = "/v1/deadzones?" +
      linkQuery(zoneValues(chosen, { format: "geojson" }));
    $("download-sites-csv").href = "/v1/plan?" +
      linkQuery(planValues(chosen, { format: "csv", lang: P.lang }));
    $("download-sites-geojson").href = "/v1/plan?" +
      linkQuery(planValues(chosen, { format: "geojson" }));
  }

  function villageText(codes, names) {
    return (codes || []).map(function (code) { return names[code] || code; }).join(", ");
  }

  function renderZones(body, names) {
    $("zones").hidden = false;
    var zones = body.zones;
    $("zones-count").textContent = t("zones.count", {
      shown: fmt.int(zones.length), total: fmt.int(body.total)
    });
    $("zones-count").setAttribute("data-total", String(body.total));
    $("zones-none").hidden = zones.length > 0;
    $("zones-table").hidden = zones.length === 0;
    if (zones.length && zones[0].population === null) {
      $("notices").appendChild(P.commandHint(t("zones.no_population"), [
        "deadzone import-areas villages.geojson"
      ]));
    }
    if (!zones.length) return null;
    return P.sortableTable($("zones-table"), [
      { key: "rank", label: "col.rank", numeric: true },
      { key: "population", label: "col.people_affected", numeric: true,
        text: function (z) { return fmt.int(z.population); } },
      { key: "villages", label: "col.villages",
        value: function (z) { return villageText(z.villages, names); } },
      { key: "area_km2", label: "col.area", numeric: true,
        text: function (z) { return fmt.number(z.area_km2, 2); } },
      { key: "devices", label: "col.devices", numeric: true,
        text: function (z) { return fmt.int(z.devices); } },
      { key: "last_seen", label: "col.last_seen",
        text: function (z) { return fmt.momentDay(z.last_seen); } }
    ], zones, { key: "rank", dir: "asc", rowKey: function (z) { return z.id; } });
  }

  /* 'grid power within 200 m and a road within 1,000 m' from the distances the server
     used (its defaults are settings), or "" when no constraint was asked. */
  function constraintWords(constraints) {
    if (!constraints) return "";
    var words = [];
    if (constraints.power_m !== null) words.push(t("constraint.power", { m: fmt.int(constraints.power_m) }));
    if (constraints.road_m !== null) words.push(t("constraint.road", { m: fmt.int(constraints.road_m) }));
    return words.join(t("constraint.and"));
  }

  function explanation(plan, asked, rules) {
    if (!plan.reason) return "";
    if (plan.reason !== "nobody_more_reachable") {
      return t("why." + plan.reason, {
        before: plan.constraints ? fmt.int(plan.constraints.candidates_before) : "",
        constraints: rules
      });
    }
    var parts = [t("why.nobody_more_reachable", {
      n: fmt.int(plan.sites.length), asked: fmt.int(asked),
      reachable: fmt.int(plan.people_reachable), radius: fmt.number(plan.model.radius_km, 1)
    })];
    var unreached = plan.people_without_signal - plan.people_reachable;
    if (unreached > 0.5) parts.push(t("why.unreached", { people: fmt.int(unreached) }));
    if (plan.constraints && plan.constraints.candidates_after < plan.constraints.candidates_before) {
      parts.push(t("why.constraints_kept", {
        constraints: rules, after: fmt.int(plan.constraints.candidates_after),
        before: fmt.int(plan.constraints.candidates_before)
      }));
    }
    return parts.join(" ");
  }

  function renderSites(plan, names, asked) {
    $("sites-section").hidden = false;
    var model = plan.model;
    $("sites-summary").textContent = t("sites.summary", {
      people: fmt.int(plan.people_without_signal), candidates: fmt.int(plan.candidates)
    });
    $("sites-model").textContent = t("sites.model", {
      model: model.name,
      band: String(Math.round(model.band_mhz)),  // a band name: no thousands separator
      mast: fmt.int(model.mast_height_m),
      eirp: fmt.number(model.eirp_dbm, 1),
      radius: fmt.number(model.radius_km, 1),
      terrain: plan.terrain === "flat terrain" ? t("terrain.flat") : plan.terrain
    });
    var rules = constraintWords(plan.constraints);
    $("sites-constraints").hidden = !rules;
    if (rules) {
      $("sites-constraints").textContent = t("sites.constraints", {
        constraints: rules, after: fmt.int(plan.constraints.candidates_after),
        before: fmt.int(plan.constraints.candidates_before)
      });
    }
    // Why fewer sites came back than were asked for, in the page's language from the
    // server's reason code (its English sentence is in plan.explanation).
    var why = explanation(plan, asked, rules);
    $("sites-explanation").hidden = !why;
    $("sites-explanation").textContent = why;
    var sites = plan.sites;
    $("sites-none").hidden = sites.length > 0;
    $("sites-table").hidden = sites.length === 0;
    if (!sites.length) return null;
    var modelText = model.name + ", " + fmt.number(model.radius_km, 1) + " km";
    return P.sortableTable($("sites-table"), [
      { key: "rank", label: "col.rank", numeric: true },
      { key: "people_new", label: "col.people_new", numeric: true,
        text: function (s) { return fmt.int(s.people_new); } },
      { key: "people_cumulative", label: "col.people_cumulative", numeric: true,
        text: function (s) { return fmt.int(s.people_cumulative); } },
      { key: "villages", label: "col.villages",
        value: function (s) {
          return villageText(s.villages.map(function (v) { return v.code; }), names);
        } },
      { key: "lat", label: "col.lat", numeric: true,
        text: function (s) { return fmt.number(s.lat, 5); } },
      { key: "lon", label: "col.lon", numeric: true,
        text: function (s) { return fmt.number(s.lon, 5); } },
      { key: "model", label: "col.model", value: function () { return modelText; } }
    ], sites, { key: "rank", dir: "asc", rowKey: function (s) { return s.h3; } });
  }

  function load(chosen) {
    return Promise.all([
      P.getJSON("/v1/deadzones?" + query(zoneValues(chosen, { limit: ZONES_SHOWN }))),
      P.getJSON("/v1/plan?" + query(planValues(chosen))),
      P.getJSON("/v1/villages"),
      P.getJSON("/v1/summary")
    ]).then(function (bodies) {
      var names = {};
      // "Thôn 1" is in many communes: name the commune too.
      bodies[2].villages.forEach(function (v) {
        names[v.code] = v.commune_name ? v.name + " (" + v.commune_name + ")" : v.name;
      });
      P.showStatus($("status"), "");
      if (!bodies[3].aggregated_at) {
        $("notices").appendChild(P.commandHint(t("data.not_aggregated"), ["deadzone aggregate"]));
      } else {
        $("notices").appendChild(el("p", "muted", t("data.as_of", {
          time: fmt.moment(bodies[3].aggregated_at)
        })));
      }
      P.plan = { zones: bodies[0], plan: bodies[1] };
      P.zonesTable = renderZones(bodies[0], names);
      P.sitesTable = renderSites(bodies[1], names, chosen.sites);
    }).catch(function (error) {
      P.showStatus($("status"), t("load.failed", { detail: error.message }), "error");
    });
  }

  var chosen = choice();
  setup(chosen);
  load(chosen).then(function () {
    P.ready = true;
    document.body.setAttribute("data-ready", "true");
  });
})();
