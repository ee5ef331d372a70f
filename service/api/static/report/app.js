/* The resident reporter page: choose operator and signal, get a position, save a report
   to the phone's queue (queue.js), send it when there is a connection.
   Written for old Android Chrome: no async/await, no optional chaining, no "??". */
(function () {
  "use strict";

  // --- What a report means, as a canonical reading (collectors/reading.py) ---------------

  // Operators of Vietnam (MCC 452), as in collectors/radio.py OPERATOR_NAMES.
  var OPERATORS = {
    "452-04": { mcc: 452, mnc: 4 },  // Viettel
    "452-02": { mcc: 452, mnc: 2 },  // VinaPhone
    "452-01": { mcc: 452, mnc: 1 },  // MobiFone
    "452-05": { mcc: 452, mnc: 5 },  // Vietnamobile
    "452-07": { mcc: 452, mnc: 7 }   // Gmobile
  };
  // Virtual operators (iTel, Reddi...) ride on one of these networks: their buttons carry
  // the network's code in data-network (domain/radio.py MVNO_NETWORKS), see networkOf().
  // "I don't know" (value "unknown") is saved with the operator unknown: MCC 452 (the page
  // serves Vietnam) and mnc null, never a guessed network. The server counts such a report
  // as evidence about the place, for the best of all operators only, never about any one
  // operator (collectors/reading.py, service/engine/decisions.py); the page says so and
  // how to find the operator, since a named operator's report helps that operator too.
  var UNKNOWN_OPERATOR = "unknown";
  var MCC_VIETNAM = 452;

  // The four buttons as manual levels (0-4 bars).
  var LEVELS = {
    none: { level: 0 },
    // "Emergency calls only": the phone found some network (emergency calls may use any
    // operator) but is not served by its own, so for this operator it is no service:
    // level 0, like "no signal". The canonical reading has no field to tell them apart.
    emergency: { level: 0 },
    // 1-2 bars where calls drop: level 1 (below the 2-bar "covered" line, DESIGN.md) with
    // calls_fail, the resident's own words.
    weak: { level: 1, calls_fail: true },
    // "Works": 3 bars, a nominal value for "calls are fine" (the resident counts no bars).
    good: { level: 3 }
  };
  // A manual report has no radio technology, but the canonical reading requires one. "lte"
  // is a nominal value (most phones in Vietnam camp on LTE since 2G/3G switch-off began);
  // readings with source "reporter" and a level must be read as "radio unknown".
  var NOMINAL_RADIO = "lte";
  var SOURCE = "reporter";

  // --- Position --------------------------------------------------------------------------

  var GEO_TIMEOUT_MS = 20000;
  var OPENING_FIX_MAX_AGE_MS = 10000;  // a fix this recent is good enough when the page opens
  var FRESH_FIX_MS = 60000;          // an older GPS fix is renewed before saving
  var SURVEY_MAX_ACCURACY_M = 100;   // survey fixes worse than this wait for a better one
  var MAP_CENTER = [12.68, 108.05];  // Buôn Ma Thuột, when the phone knows no position
  var MAP_ZOOM = 10;
  var PLACE_ZOOM = 16;               // a tap below PLACE_MIN_ZOOM zooms here first
  var PLACE_MIN_ZOOM = 15;
  // A finger tap is about 48 CSS px wide, so a point placed by hand is uncertain by about
  // half of that: 24 px times the map's metres per pixel (Web Mercator, 256 px tiles).
  var TAP_UNCERTAINTY_PX = 24;
  var EARTH_CIRCUMFERENCE_M = 40075016.686;

  // The server refuses fixes worse than its quality gate's limit (settings.max_accuracy_m,
  // ichnaea's 1000 m); the page reads the limit from /report/config.json (kept by the
  // service worker) and refuses such a fix before saving, so a report is never accepted
  // here and then lost there. This default is the setting's default, for a first visit
  // whose config request failed.
  var DEFAULT_MAX_ACCURACY_M = 1000;
  var LEAFLET_JS = "/report/leaflet/leaflet.js";
  var LEAFLET_CSS = "/report/leaflet/leaflet.css";
  var OUTLINES_URL = "/v1/areas/outlines";
  var LABEL_MIN_ZOOM = 13;           // village names are drawn from this zoom on

  // --- Saving ----------------------------------------------------------------------------

  // One tap, one report: a tap while a save is running is ignored, and the very same report
  // (operators, levels, position) tapped again within this time is not saved twice. A
  // resident who taps three times because nothing seemed to happen means one report.
  var REPEAT_GUARD_MS = 10000;

  // --- Sending ---------------------------------------------------------------------------

  var RETRY_MIN_MS = 5000;
  var RETRY_MAX_MS = 300000;

  var deviceReady = null;  // resolves once the phone's device token is known

  var state = {
    lang: "vi",
    operator: null,
    level: null,
    position: null,        // {lat, lon, accuracy_m, speed_mps, source, at}
    posError: null,        // strings key
    device: null,
    message: null,         // {key, vars, kind}
    sendState: null,       // {key, vars}
    failures: 0,
    retryTimer: null,
    sending: null,
    survey: null,          // {watch, count, last, distance, note}
    surveyNote: null,      // {key, vars}
    wakeLock: null,
    map: null,
    marker: null,
    maxAccuracyM: DEFAULT_MAX_ACCURACY_M,
    leaflet: null,         // Promise of Leaflet, once the map was asked for
    saving: null,          // Promise of the save in progress
    lastSave: null         // {key, at, n}: the last saved report, for REPEAT_GUARD_MS
  };

  // --- Small tools -----------------------------------------------------------------------

  function $(id) { return document.getElementById(id); }
  function each(list, fn) { Array.prototype.forEach.call(list, fn); }

  function stored(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function store(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode: forget */ }
  }
  function localStorageOrNull() {
    try { return window.localStorage; } catch (e) { return null; }
  }

  function t(key, vars) {
    var dict = DZ_STRINGS[state.lang] || DZ_STRINGS.vi;
    var text = dict[key];
    if (text === undefined) return key;  // shows up in the completeness test
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return vars && vars[name] !== undefined ? String(vars[name]) : all;
    });
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(date) { return pad(date.getHours()) + ":" + pad(date.getMinutes()); }
  function dateTime(iso) {
    var d = new Date(iso);
    return clock(d) + " " + pad(d.getDate()) + "/" + pad(d.getMonth() + 1) + "/" + d.getFullYear();
  }
  function age(ms) {
    var minutes = Math.floor((Date.now() - ms) / 60000);
    if (minutes < 1) return t("time.just_now");
    if (minutes < 60) return t("time.minutes_ago", { n: minutes });
    if (minutes < 48 * 60) return t("time.hours_ago", { n: Math.floor(minutes / 60) });
    return t("time.days_ago", { n: Math.floor(minutes / 1440) });
  }
  function fixed(x, digits) { return Number(x).toFixed(digits); }

  /* Great-circle distance in metres (haversine, mean Earth radius 6,371,008.8 m). */
  function distanceM(a, b) {
    var R = 6371008.8;
    var rad = Math.PI / 180;
    var dLat = (b.lat - a.lat) * rad;
    var dLon = (b.lon - a.lon) * rad;
    var h = Math.sin(dLat / 2) * Math.sin(dLat / 2) +
      Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) * Math.sin(dLon / 2);
    return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
  }

  // --- Language --------------------------------------------------------------------------

  function applyLanguage() {
    document.documentElement.lang = state.lang;
    document.title = t("page.title");
    each(document.querySelectorAll("[data-i18n]"), function (el) {
      el.textContent = t(el.getAttribute("data-i18n"));
    });
    each(document.querySelectorAll("[data-i18n-aria]"), function (el) {
      el.setAttribute("aria-label", t(el.getAttribute("data-i18n-aria")));
    });
    $("lang").setAttribute("lang", state.lang === "vi" ? "en" : "vi");
    renderAll();
  }

  function switchLanguage() {
    state.lang = state.lang === "vi" ? "en" : "vi";
    store("dz.lang", state.lang);
    applyLanguage();
  }

  // --- Rendering -------------------------------------------------------------------------

  function renderAll() {
    renderNetwork();
    renderPosition();
    renderMessage();
    renderSendState();
    renderSurvey();
    refreshQueue();
  }

  function renderNetwork() {
    var online = navigator.onLine !== false;
    $("net").className = "net " + (online ? "online" : "offline");
    $("net-text").textContent = t(online ? "net.online" : "net.offline");
  }

  function renderMessage() {
    var el = $("save-message");
    var m = state.message;
    el.textContent = m ? t(m.key, m.vars) : "";
    el.className = "save-message" + (m ? " " + m.kind : "");
  }

  function say(key, vars, kind) {
    state.message = { key: key, vars: vars, kind: kind || "info" };
    renderMessage();
  }

  function renderSendState() {
    var s = state.sendState;
    $("send-state").textContent = s ? t(s.key, s.vars) : "";
  }

  function refreshQueue() {
    return Promise.all([DZQueue.count(), DZQueue.getMeta("last_sent"), DZQueue.getMeta("rejected"),
                        DZQueue.getMeta("last_result")])
      .then(function (found) {
        var n = found[0];
        var counter = $("queue-count");
        counter.setAttribute("data-count", String(n));
        counter.textContent = n ? t("queue.waiting", { n: n }) : t("queue.empty");
        $("send-now").hidden = !n;
        $("last-sent").textContent = lastSendText(found[1], found[3]);
        renderRejected(found[2] || []);
        return n;
      });
  }

  /* What the server did with the last send, in numbers: "sent" alone would hide refusals. */
  function lastSendText(at, result) {
    if (!at) return t("queue.never_sent");
    if (!result) return t("queue.last_sent", { time: dateTime(at) });
    return t("queue.last_result", {
      time: dateTime(at), stored: result.accepted + result.duplicates, refused: result.rejected
    });
  }

  function renderRejected(items) {
    var list = $("rejected-list");
    list.textContent = "";
    each(items, function (item) {
      var problem = item.problems[0] || { code: "", reason: "" };
      var known = ["future", "too_old", "inaccurate"].indexOf(problem.code) >= 0;
      var li = document.createElement("li");
      li.textContent = t("rejected.item", {
        time: dateTime(item.reading.observed_at),
        level: item.kind ? t("level." + item.kind) : String(item.reading.level),
        reason: known ? t("reason." + problem.code) : t("reason.other", { reason: problem.reason })
      });
      list.appendChild(li);
    });
    $("rejected").hidden = !items.length;
  }

  function renderPosition() {
    var p = state.position;
    var text = "";
    if (p) {
      var vars = { lat: fixed(p.lat, 5), lon: fixed(p.lon, 5) };
      if (p.source === "gps") {
        vars.acc = Math.round(p.accuracy_m);
        text = t("pos.gps", vars);
      } else if (p.source === "last") {
        vars.age = age(p.at);
        text = t("pos.last", vars);
      } else {
        text = t("pos.placed", vars);
      }
    } else if (!state.posError) {
      text = t("pos.locating");
    }
    $("pos-text").textContent = text;
    var err = $("pos-error");
    var coarse = p && tooCoarse(p);
    err.hidden = !state.posError && !coarse;
    err.textContent = state.posError ? t(state.posError)
      : coarse ? t("pos.too_coarse", { acc: Math.round(p.accuracy_m), max: Math.round(state.maxAccuracyM) }) : "";
  }

  /* A fix the server's quality gate would refuse (accuracy worse than its limit). */
  function tooCoarse(position) {
    return typeof position.accuracy_m === "number" && position.accuracy_m > state.maxAccuracyM;
  }

  /* The server's limits, remembered for offline visits (the worker also keeps the file). */
  function loadConfig() {
    var known = Number(stored("dz.max_accuracy_m"));
    if (known > 0) state.maxAccuracyM = known;
    if (!window.fetch) return;
    fetch("/report/config.json", { cache: "no-store" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (config) {
      if (config && config.max_accuracy_m > 0) {
        state.maxAccuracyM = config.max_accuracy_m;
        store("dz.max_accuracy_m", String(config.max_accuracy_m));
        renderPosition();
      }
    }).catch(function () { /* offline: the remembered or default limit stays */ });
  }

  /* The chosen level's button is filled with its colour (a class, since old Chrome has no
     :has() selector). */
  function renderLevels() {
    each(document.querySelectorAll("input[name=level]"), function (input) {
      input.parentNode.className = input.parentNode.className.replace(/ ?\bchecked\b/g, "") +
        (input.checked ? " checked" : "");
    });
  }

  function renderOperatorHelp() {
    $("op-unknown-help").hidden = state.operator !== UNKNOWN_OPERATOR;
  }

  function renderSurvey() {
    var running = !!state.survey;
    var button = $("survey-toggle");
    button.setAttribute("data-i18n", running ? "survey.stop" : "survey.start");
    button.textContent = t(running ? "survey.stop" : "survey.start");
    button.className = running ? "danger" : "secondary";
    var note = state.surveyNote;
    var el = $("survey-state");
    el.textContent = note ? t(note.key, note.vars) : "";
    el.setAttribute("data-count", String(running ? state.survey.count : 0));
    $("survey-live").hidden = !running;
    document.querySelector(".savebar").classList.toggle("surveying", running);
    $("survey-live-text").textContent = running && note ? t(note.key, note.vars) : "";
  }

  // --- Position --------------------------------------------------------------------------

  function rememberFix(position) {
    store("dz.last", JSON.stringify({
      lat: position.lat, lon: position.lon, accuracy_m: position.accuracy_m, at: position.at
    }));
  }

  function fromFix(fix) {
    var c = fix.coords;
    var p = {
      lat: c.latitude, lon: c.longitude, accuracy_m: c.accuracy,
      speed_mps: typeof c.speed === "number" && c.speed >= 0 ? c.speed : null,
      source: "gps", at: Date.now()
    };
    rememberFix(p);
    return p;
  }

  var GEO_ERRORS = { 1: "pos.denied", 2: "pos.unavailable", 3: "pos.timeout" };

  /* A GPS fix no older than ``maxAgeMs`` (0: a new one); on failure the error is shown
     and the manual placement opened. */
  function locate(maxAgeMs) {
    if (!navigator.geolocation) {
      state.posError = "pos.unsupported";
      renderPosition();
      openManual();
      return Promise.reject(new Error("no geolocation"));
    }
    state.posError = null;
    if (!state.position || state.position.source === "gps") state.position = null;
    renderPosition();
    return new Promise(function (resolve, reject) {
      navigator.geolocation.getCurrentPosition(function (fix) {
        state.position = fromFix(fix);
        state.posError = null;
        renderPosition();
        placeMarker(state.position);
        resolve(state.position);
      }, function (error) {
        state.posError = GEO_ERRORS[error.code] || "pos.unavailable";
        renderPosition();
        openManual();
        reject(error);
      }, { enableHighAccuracy: true, timeout: GEO_TIMEOUT_MS, maximumAge: maxAgeMs || 0 });
    });
  }

  function setPosition(lat, lon, accuracy, source, at) {
    state.position = { lat: lat, lon: lon, accuracy_m: accuracy, speed_mps: null, source: source, at: at || Date.now() };
    state.posError = null;
    $("lat").value = fixed(lat, 6);
    $("lon").value = fixed(lon, 6);
    placeMarker(state.position);
    renderPosition();
    announcePosition(state.position);
  }

  /* nearby.js follows the resident: the nearest place to measure, the village. */
  function announcePosition(position) {
    document.dispatchEvent(new CustomEvent("deadzone:position", {
      detail: { lat: position.lat, lon: position.lon, at: position.at }
    }));
  }

  function openManual() {
    var panel = $("manual");
    panel.hidden = false;
    return loadLeaflet().then(function () {
      if (!state.map) makeMap();
      state.map.invalidateSize();
    }).catch(function () { /* no map: typed coordinates still work */ });
  }

  /* Leaflet (148 KB of the page's 217) is fetched only when a map is needed: most reports
     use GPS and never open it. The service worker keeps it for offline use. */
  function loadLeaflet() {
    if (window.L) return Promise.resolve(window.L);
    if (state.leaflet) return state.leaflet;
    state.leaflet = new Promise(function (resolve, reject) {
      var css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = LEAFLET_CSS;
      document.head.appendChild(css);
      var script = document.createElement("script");
      script.src = LEAFLET_JS;
      script.onload = function () { resolve(window.L); };
      script.onerror = function () { state.leaflet = null; reject(new Error("Leaflet did not load")); };
      document.head.appendChild(script);
    });
    return state.leaflet;
  }

  /* The base map: commune outlines and village centres imported into deadzone, from the
     API (and, offline, from the service worker's copy). No third-party tiles: they are
     blank offline and would tell a tile server where the resident is. */
  function addOutlines(map, fitWhenUnplaced) {
    if (!window.fetch) return;
    fetch(OUTLINES_URL).then(function (r) { return r.ok ? r.json() : null; }).then(function (areas) {
      var features = areas && areas.features ? areas.features : [];
      $("map").setAttribute("data-outlines", String(features.length));
      if (!features.length) return;
      var layer = L.geoJSON(areas, {
        interactive: false,  // a tap goes through to the map: it places the point
        style: function () {
          return { color: "#0b3d91", weight: 2, opacity: 0.8, fillColor: "#ffffff", fillOpacity: 0.55 };
        },
        pointToLayer: function (feature, latlng) {
          var label = document.createElement("span");
          label.textContent = feature.properties.name;  // imported names: text, never markup
          return L.circleMarker(latlng, {
            radius: 5, color: "#5c3b00", weight: 2, fillColor: "#ffb300", fillOpacity: 1, interactive: false
          }).bindTooltip(label, { permanent: true, direction: "right", className: "village-label" });
        }
      }).addTo(map);
      state.areaBounds = layer.getBounds();
      if (fitWhenUnplaced) map.fitBounds(layer.getBounds(), { padding: [8, 8] });
      showLabels(map);
    }).catch(function () { /* offline with no copy yet: the plain grid stays */ });
  }

  function showLabels(map) {
    var el = $("map");
    el.className = el.className.replace(/ ?\blabels-hidden\b/g, "") +
      (map.getZoom() < LABEL_MIN_ZOOM ? " labels-hidden" : "");
  }

  function makeMap() {
    var last = lastKnown();
    var center = state.position ? [state.position.lat, state.position.lon] : last ? [last.lat, last.lon] : MAP_CENTER;
    var zoom = state.position || last ? PLACE_ZOOM : MAP_ZOOM;
    var map = L.map("map", { center: center, zoom: zoom, maxZoom: 19, tap: true, attributionControl: false });
    addOutlines(map, !state.position && !last);
    map.on("zoomend", function () { showLabels(map); });
    map.on("click", function (e) {
      if (map.getZoom() < PLACE_MIN_ZOOM) {
        map.setView(e.latlng, PLACE_ZOOM);
        return;
      }
      var mPerPx = EARTH_CIRCUMFERENCE_M * Math.cos(e.latlng.lat * Math.PI / 180) / Math.pow(2, map.getZoom() + 8);
      setPosition(e.latlng.lat, e.latlng.lng, Math.round(mPerPx * TAP_UNCERTAINTY_PX), "map");
    });
    // The zoom is on the element too, for support staff reading the page (and the tests).
    map.on("zoomend", function () { $("map").setAttribute("data-zoom", String(map.getZoom())); });
    $("map").setAttribute("data-zoom", String(zoom));
    state.map = map;
    if (state.position) placeMarker(state.position);
  }

  function placeMarker(p) {
    if (!state.map || !p) return;
    var at = [p.lat, p.lon];
    if (!state.marker) {
      state.marker = L.circleMarker(at, { radius: 10, color: "#0b3d91", weight: 3, fillColor: "#ffd600", fillOpacity: 1 }).addTo(state.map);
    } else {
      state.marker.setLatLng(at);
    }
  }

  function lastKnown() {
    try {
      var last = JSON.parse(stored("dz.last") || "null");
      return last && typeof last.lat === "number" ? last : null;
    } catch (e) { return null; }
  }

  function parseCoordinate(text) {
    var value = Number(String(text).replace(",", ".").trim());
    return text && isFinite(value) ? value : NaN;
  }

  // Beyond this outside the imported communes' box, a typed place is asked again: a
  // neighbouring province's edge is nearer than that to Dak Lak's communes.
  var FAR_FROM_AREAS_KM = 20;

  function farFromAreas(lat, lon) {
    var box = state.areaBounds;
    if (!box || !box.isValid()) return false;  // no areas imported, or not loaded yet
    var dLat = FAR_FROM_AREAS_KM / 111.2;
    var dLon = dLat / Math.max(0.1, Math.cos(lat * Math.PI / 180));
    return lat < box.getSouth() - dLat || lat > box.getNorth() + dLat ||
      lon < box.getWest() - dLon || lon > box.getEast() + dLon;
  }

  function useTyped() {
    var lat = parseCoordinate($("lat").value);
    var lon = parseCoordinate($("lon").value);
    var valid = lat >= -85.051 && lat <= 85.051 && lon >= -180 && lon <= 180 && !(lat === 0 && lon === 0);
    if (!valid) { say("pos.bad_coords", null, "error"); return; }
    // Far outside every imported commune is most likely a typing slip (a digit, latitude
    // and longitude swapped): said once, and kept if the same place is given again.
    var typed = fixed(lat, 6) + "," + fixed(lon, 6);
    if (farFromAreas(lat, lon) && state.farTyped !== typed) {
      state.farTyped = typed;
      say("pos.far", { km: FAR_FROM_AREAS_KM }, "error");
      return;
    }
    state.farTyped = null;
    // Typed coordinates come with no accuracy: accuracy_m is left out, not invented.
    setPosition(lat, lon, null, "typed");
    if (state.map) state.map.setView([lat, lon], Math.max(state.map.getZoom(), PLACE_MIN_ZOOM));
    state.message = null;
    renderMessage();
  }

  function useLast() {
    var last = lastKnown();
    if (!last) { say("pos.no_last", null, "error"); return; }
    setPosition(last.lat, last.lon, last.accuracy_m, "last", last.at);
    if (state.map) state.map.setView([last.lat, last.lon], PLACE_ZOOM);
  }

  // --- Reports ---------------------------------------------------------------------------

  /* The network a choice stands for: an operator's own code, or for a virtual operator
     (an MVNO button) the code of the network it rides on (its data-network). */
  function networkOf(choice) {
    if (OPERATORS[choice]) return choice;
    var input = document.querySelector("input[name=operator][value='" + choice + "']");
    var network = input && input.getAttribute("data-network");
    return network && OPERATORS[network] ? network : null;
  }

  /* An operator button was chosen: a network, or "I don't know" (saved as unknown). */
  function operatorChosen(choice) { return choice === UNKNOWN_OPERATOR || !!networkOf(choice); }

  /* The SIMs of this report: the chosen operator, and a second SIM's when one is chosen
     with its own level (a dual-SIM phone shows bars for each). */
  function sims() {
    var list = [{ operator: state.operator, kind: state.level }];
    var second = secondSim();
    if (second) list.push(second);
    return list;
  }

  function secondSim() {
    var operator = $("sim2-operator").value;
    if (!operator) return null;
    var checked = document.querySelector("input[name=level2]:checked");
    return { operator: operator, kind: checked ? checked.value : null };
  }

  function readingOf(position, sim, observedAt) {
    var op = OPERATORS[networkOf(sim.operator)] || { mcc: MCC_VIETNAM, mnc: null };
    var meaning = LEVELS[sim.kind];
    var reading = {
      id: DZQueue.randomId(),
      device: state.device,
      observed_at: observedAt,
      lat: Math.round(position.lat * 1e6) / 1e6,
      lon: Math.round(position.lon * 1e6) / 1e6,
      mcc: op.mcc,
      mnc: op.mnc,
      radio: NOMINAL_RADIO,
      level: meaning.level,
      source: SOURCE
    };
    if (typeof position.accuracy_m === "number") reading.accuracy_m = Math.round(position.accuracy_m * 10) / 10;
    if (typeof position.speed_mps === "number") reading.speed_mps = Math.round(position.speed_mps * 10) / 10;
    if (meaning.calls_fail !== undefined) reading.calls_fail = meaning.calls_fail;
    return reading;
  }

  function missingForReport() {
    if (!operatorChosen(state.operator)) return "save.need_operator";
    if (!state.level) return "save.need_level";
    var second = secondSim();
    if (second && !second.kind) return "sim2.need_level";
    return null;
  }

  /* Queue one report: one reading per SIM, same place and time. Resolves to the number of
     readings queued. */
  function queueReport(position, list) {
    var tapped = Date.now();
    return deviceReady.then(function () {
      // The time of the tap on the server's clock: a phone's own may run minutes off.
      return DZQueue.now();
    }).then(function (server) {
      var observedAt = new Date(server - Date.now() + tapped).toISOString();
      return DZQueue.enqueueAll(list.map(function (sim) {
        return { reading: readingOf(position, sim, observedAt), kind: sim.kind };
      }));
    }).then(function () {
      registerBackgroundSync();
      return refreshQueue();
    }).then(function () {
      sendSoon();
      return list.length;
    });
  }

  function reportKey(position, list) {
    return JSON.stringify([list, position.lat, position.lon]);
  }

  function describe(list) {
    return list.map(function (sim) {
      var input = document.querySelector("input[name=operator][value='" + sim.operator + "']");
      var name = input ? input.parentNode.textContent.trim() : sim.operator;
      return name + ": " + t("level." + sim.kind);
    }).join("; ");
  }

  /* The save button. One tap, one report: taps while a save runs share it, and the same
     report tapped again within REPEAT_GUARD_MS is not saved again (the page says so). */
  function saveReport() {
    if (state.saving) return state.saving;
    var missing = missingForReport();
    if (missing) { say(missing, null, "error"); return Promise.resolve(0); }
    var list = sims();
    var p = state.position;
    var stale = p && p.source === "gps" && Date.now() - p.at > FRESH_FIX_MS;
    if (p && !stale && repeatedSave(p, list)) return Promise.resolve(0);
    $("save").setAttribute("aria-busy", "true");
    var ready = p && !stale ? Promise.resolve(p) : p && stale ? locate(0) : Promise.reject(new Error("no position"));
    state.saving = ready.then(function (position) {
      if (tooCoarse(position)) return refuseCoarse(position);
      if (repeatedSave(position, list)) return 0;
      return queueReport(position, list).then(function (n) {
        state.lastSave = { key: reportKey(position, list), at: Date.now(), n: n };
        say("save.done", { n: n, what: describe(list) }, "ok");
        return n;
      });
    }, function () {
      say("save.need_position", null, "error");
      return 0;
    }).then(function (n) {
      state.saving = null;
      $("save").removeAttribute("aria-busy");
      return n;
    });
    return state.saving;
  }

  function repeatedSave(position, list) {
    var last = state.lastSave;
    if (!last || last.key !== reportKey(position, list) || Date.now() - last.at > REPEAT_GUARD_MS) return false;
    say("save.repeated", { n: last.n, time: clock(new Date(last.at)) }, "ok");
    return true;
  }

  /* A fix worse than the server's limit is not saved: the server would refuse it after the
     resident walked away. The choices stay; GPS can be retried or the point placed by hand. */
  function refuseCoarse(position) {
    var vars = { acc: Math.round(position.accuracy_m), max: Math.round(state.maxAccuracyM) };
    say("save.too_coarse", vars, "error");
    renderPosition();
    var section = document.querySelector("fieldset.position");
    if (section.scrollIntoView) section.scrollIntoView();
    return 0;
  }

  // --- Sending ---------------------------------------------------------------------------

  function registerBackgroundSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.sync && reg.sync.register) return reg.sync.register(DZQueue.SYNC_TAG);
    }).catch(function () { /* no Background Sync: the page's own retries remain */ });
  }

  function scheduleRetry() {
    clearTimeout(state.retryTimer);
    var base = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * Math.pow(2, Math.max(0, state.failures - 1)));
    var delay = Math.round(base * (0.75 + Math.random() * 0.5));  // jitter: not all phones at once
    state.retryTimer = setTimeout(sendSoon, delay);
    state.sendState = { key: "queue.retry_at", vars: { time: clock(new Date(Date.now() + delay)) } };
    renderSendState();
  }

  /* Send the queue now unless the phone knows it is offline (then the "online" event
     will). Resolves when this attempt is over; never rejects. */
  function sendSoon() {
    if (state.sending) return state.sending;
    if (navigator.onLine === false) return Promise.resolve(null);
    clearTimeout(state.retryTimer);
    state.sendState = { key: "queue.sending" };
    renderSendState();
    state.sending = DZQueue.sendAll().then(function (totals) {
      state.failures = 0;
      state.sendState = null;
      var delivered = totals.accepted + totals.duplicates;
      if (totals.rejected) say("queue.refused", { n: delivered, refused: totals.rejected }, "error");
      else if (delivered) say("queue.sent", { n: delivered }, "ok");
      // The village's count of reporters this month may have moved (nearby.js).
      if (totals.accepted) document.dispatchEvent(new CustomEvent("deadzone:sent"));
      return totals;
    }, function () {
      state.failures += 1;
      scheduleRetry();
      registerBackgroundSync();
      return null;
    }).then(function (totals) {
      state.sending = null;
      renderSendState();
      return refreshQueue().then(function (n) {
        // Reports saved while this attempt was running go out straight away.
        if (totals && n) return sendSoon();
        return totals;
      });
    });
    return state.sending;
  }

  // --- Survey mode -----------------------------------------------------------------------

  function surveyDistance() {
    var value = Number($("survey-distance").value);
    return isFinite(value) && value >= 10 && value <= 1000 ? value : null;
  }

  function startSurvey() {
    if (!operatorChosen(state.operator) || !state.level) {
      state.surveyNote = { key: "survey.need" };
      renderSurvey();
      return;
    }
    var distance = surveyDistance();
    if (!distance) {
      state.surveyNote = { key: "survey.bad_distance" };
      renderSurvey();
      return;
    }
    if (!navigator.geolocation) {
      state.posError = "pos.unsupported";
      renderPosition();
      return;
    }
    store("dz.survey_distance", String(distance));
    var survey = { watch: null, count: 0, last: null, distance: distance, busy: false };
    state.survey = survey;
    state.surveyNote = { key: "survey.running", vars: { n: 0 } };
    survey.watch = navigator.geolocation.watchPosition(function (fix) {
      onSurveyFix(survey, fix);
    }, function (error) {
      state.posError = GEO_ERRORS[error.code] || "pos.unavailable";
      renderPosition();
    }, { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 });
    keepScreenOn();
    renderSurvey();
  }

  function onSurveyFix(survey, fix) {
    if (state.survey !== survey) return;
    var here = fromFix(fix);
    state.position = here;
    state.posError = null;
    renderPosition();
    placeMarker(here);
    announcePosition(here);
    if (here.accuracy_m > SURVEY_MAX_ACCURACY_M) {
      state.surveyNote = { key: "survey.waiting_fix", vars: { acc: Math.round(here.accuracy_m) } };
      renderSurvey();
      return;
    }
    if (survey.busy || (survey.last && distanceM(survey.last, here) < survey.distance)) return;
    if (missingForReport()) {
      state.surveyNote = { key: "survey.need" };
      renderSurvey();
      return;
    }
    survey.busy = true;
    queueReport(here, sims()).then(function () {
      survey.busy = false;
      survey.last = here;
      survey.count += 1;
      if (state.survey === survey) state.surveyNote = { key: "survey.running", vars: { n: survey.count } };
      renderSurvey();
    }, function () { survey.busy = false; });
  }

  function stopSurvey() {
    var survey = state.survey;
    if (!survey) return;
    navigator.geolocation.clearWatch(survey.watch);
    state.survey = null;
    state.surveyNote = { key: "survey.stopped", vars: { n: survey.count } };
    if (state.wakeLock) { state.wakeLock.release().catch(function () {}); state.wakeLock = null; }
    renderSurvey();
  }

  /* Keep the screen on while surveying where the browser allows it (Chrome 84+). */
  function keepScreenOn() {
    if (!navigator.wakeLock) return;
    navigator.wakeLock.request("screen").then(function (lock) { state.wakeLock = lock; }, function () {});
  }

  // --- Wiring ----------------------------------------------------------------------------

  function bind() {
    $("lang").addEventListener("click", switchLanguage);
    each(document.querySelectorAll("input[name=operator]"), function (input) {
      input.checked = input.value === state.operator;
      input.addEventListener("change", function () {
        state.operator = input.value;
        store("dz.operator", state.operator);
        renderOperatorHelp();
        state.message = null;
        renderMessage();
      });
    });
    each(document.querySelectorAll("input[name=level]"), function (input) {
      input.addEventListener("change", function () {
        state.level = input.value;
        state.message = null;
        renderMessage();
        renderLevels();
      });
    });
    $("save").addEventListener("click", saveReport);
    bindSecondSim();
    $("send-now").addEventListener("click", function () { state.failures = 0; sendSoon(); });
    $("pos-retry").addEventListener("click", function () { locate(0).catch(function () {}); });
    $("pos-place").addEventListener("click", openManual);
    $("use-typed").addEventListener("click", useTyped);
    $("use-last").addEventListener("click", useLast);
    $("rejected-clear").addEventListener("click", function () {
      DZQueue.clearRejected().then(refreshQueue);
    });
    $("survey-toggle").addEventListener("click", function () {
      if (state.survey) stopSurvey(); else startSurvey();
    });
    $("survey-live-stop").addEventListener("click", stopSurvey);
    window.addEventListener("online", function () {
      renderNetwork();
      state.failures = 0;
      sendSoon();
    });
    window.addEventListener("offline", renderNetwork);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") refreshQueue().then(function (n) { if (n) sendSoon(); });
    });
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.addEventListener("message", function (event) {
        if (event.data && event.data.type === "queue-changed") refreshQueue();
      });
    }
  }

  /* The second SIM's operator list repeats the first one's choices (same values). */
  function bindSecondSim() {
    var select = $("sim2-operator");
    each(document.querySelectorAll("input[name=operator]"), function (input) {
      var option = document.createElement("option");
      option.value = input.value;
      // "I don't know" is translated with the page (applyLanguage); operators' names are not.
      if (input.value === UNKNOWN_OPERATOR) option.setAttribute("data-i18n", "op.unknown");
      option.textContent = input.parentNode.textContent.trim();
      select.appendChild(option);
    });
    var clear = function () { state.message = null; renderMessage(); };
    select.addEventListener("change", clear);
    each(document.querySelectorAll("input[name=level2]"), function (input) {
      input.addEventListener("change", clear);
    });
  }

  function registerServiceWorker() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register("/report/sw.js", { scope: "/report" })
      .catch(function () { /* the page still works online */ });
  }

  function start() {
    // ?lang=en (a link shared in English, as every other page takes it) wins over the
    // language chosen last on this phone, and is remembered as the choice.
    var known = function (lang) { return Object.prototype.hasOwnProperty.call(DZ_STRINGS, lang); };
    var asked = new URLSearchParams(window.location.search).get("lang");
    if (known(asked)) store("dz.lang", asked);
    var lang = known(asked) ? asked : stored("dz.lang");
    state.lang = known(lang) ? lang : "vi";
    var operator = stored("dz.operator");
    state.operator = operatorChosen(operator) ? operator : null;
    var distance = stored("dz.survey_distance");
    if (distance) $("survey-distance").value = distance;
    bind();
    loadConfig();
    renderOperatorHelp();
    applyLanguage();
    registerServiceWorker();
    deviceReady = DZQueue.deviceToken(localStorageOrNull()).then(function (token) {
      state.device = token;
    });
    deviceReady.then(refreshQueue).then(function (n) {
      window.deadzoneReporter.ready = true;
      if (n) sendSoon();
    });
    locate(OPENING_FIX_MAX_AGE_MS).catch(function () { /* shown on the page */ });
  }

  // A handle for village teams' support (and the tests): send now, see the state.
  window.deadzoneReporter = {
    ready: false,
    sendNow: function () { state.failures = 0; return sendSoon(); },
    queued: function () { return DZQueue.list(); },
    strings: DZ_STRINGS
  };

  start();
})();
