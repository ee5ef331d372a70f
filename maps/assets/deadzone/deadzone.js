/*
 * deadzone map client: draws the compact layers written by maps/ (Python).
 *
 * Geometry arrives as integer deltas and hexagon turn codes in 1/SCALE degrees, longitude first,
 * written in the Encoded Polyline Algorithm Format (maps/encoding.py).
 * Every text that reaches innerHTML here was HTML-escaped in Python (maps/), or is a number
 * formatted here.
 */
(function (root) {
  "use strict";
  var L = root.L;
  var DZ = root.deadzone = root.deadzone || {};
  var SCALE = 100000;

  // Encoded Polyline Algorithm Format: zig-zag sign, 5-bit groups, chars 63..126. Plain
  // arithmetic, not bit operators: turn codes of arbitrary (non-hexagon) outlines exceed the
  // 32 bits that JS bit operators keep, but stay below 2^53.
  DZ.decodeInts = function (text) {
    var out = [], value = 0, scale = 1;
    for (var i = 0; i < text.length; i++) {
      var b = text.charCodeAt(i) - 63;
      value += (b & 0x1f) * scale;
      scale *= 32;
      if (b < 0x20) {
        out.push(value % 2 ? -(value + 1) / 2 : value / 2);
        value = 0; scale = 1;
      }
    }
    return out;
  };

  function zigzag(v) { return v < 0 ? -2 * v - 1 : 2 * v; }
  function unzigzag(z) { return z % 2 ? -(z + 1) / 2 : z / 2; }

  // A ring: x0, y0, dx1, dy1, dx2, dy2, then one turn code per vertex (maps/encoding.py
  // ring_to_text): lowest bit 0 = next step is d[i-1] - d[i-2], 1 = d[i-2]; the rest is a
  // Szudzik pair of the zig-zagged residual. Returns Leaflet [lat, lng] pairs.
  DZ.decodeRing = function (text) {
    var v = DZ.decodeInts(text);
    if (v.length < 2) { return []; }
    var x = v[0], y = v[1], out = [[y / SCALE, x / SCALE]];
    var ax = 0, ay = 0, bx = 0, by = 0;
    for (var i = 2; i < v.length; i++) {
      var cx, cy;
      if (i < 6) {
        cx = v[i]; cy = v[i + 1]; i++;
      } else {
        var code = zigzag(v[i]), zigZag = code % 2, z = (code - zigZag) / 2;
        var s = Math.floor(Math.sqrt(z)), zx, zy;
        while (s * s > z) { s--; }
        while ((s + 1) * (s + 1) <= z) { s++; }
        if (z - s * s < s) { zx = z - s * s; zy = s; } else { zx = s; zy = z - s * s - s; }
        if (zigZag) { cx = ax; cy = ay; } else { cx = bx - ax; cy = by - ay; }
        cx += unzigzag(zx); cy += unzigzag(zy);
      }
      x += cx; y += cy;
      out.push([y / SCALE, x / SCALE]);
      ax = bx; ay = by; bx = cx; by = cy;
    }
    return out;
  };

  DZ.decodePolygons = function (polygons) {
    return polygons.map(function (rings) { return rings.map(DZ.decodeRing); });
  };

  function dayToDate(day) {
    return new Date(day * 86400000).toISOString().slice(0, 10);
  }

  function orNone(value, text, labels) {
    return value === null || value === undefined ? labels["value.none"] : text;
  }

  // Decimal separator of the page's language (maps/i18n.py "format.decimal").
  function num(value, digits, labels) {
    return value.toFixed(digits).replace(".", labels["format.decimal"]);
  }

  function range(lo, hi, scale, digits, labels) {
    if (lo === null || lo === undefined) { return null; }
    var a = num(lo / scale, digits, labels), b = num(hi / scale, digits, labels);
    return a === b ? a : a + " … " + b;
  }

  function row(label, value) {
    return "<tr><th>" + label + "</th><td>" + value + "</td></tr>";
  }

  // stats (encoded): [cells, readings, devices, dbmMin, dbmMax (0 = none), confMin*100,
  // confMax*100, baseDay - lastDay + 1 (0 = none)] (maps/coverage.py _patch_stats); empty for
  // a single cell whose evidence is in detail.
  function patchTooltip(statusLabel, text, detail, baseDay, labels) {
    var s = text ? DZ.decodeInts(text) : null;
    if (!s) {
      var c = DZ.decodeInts(detail);
      s = [1, c[2], c[3], c[4], c[4], c[5], c[5], c[6]];
    }
    var dbm = s[3] === 0 ? null : range(s[3], s[4], 1, 0, labels);
    var day = s[7] === 0 ? null : baseDay - s[7] + 1;
    return "<div class='dz-tip'><b>" + statusLabel + "</b><table>" +
      row(labels["cell.cells"], s[0]) +
      row(labels["cell.readings"], s[1]) +
      row(labels[s[0] > 1 ? "cell.devices_sum" : "cell.devices"], s[2]) +
      row(labels["cell.signal"], orNone(dbm, dbm + " " + labels["unit.dbm"], labels)) +
      row(labels["cell.confidence"], range(s[5], s[6], 100, 2, labels)) +
      row(labels["cell.last_seen"], orNone(day, day === null ? "" : dayToDate(day), labels)) +
      "</table>" + (detail && s[0] > 1 ? "<i>" + labels["cell.click"] + "</i>" : "") +
      "</div>";
  }

  // detail: 8 ints per cell [dx, dy, readings, devices, dbm (0 = none), conf*100,
  // baseDay - day + 1 (0 = none), operators' statuses], centres as deltas in 1/SCALE degrees
  // (maps/coverage.py CellEvidence). Returns [readings, devices, dbm|null, conf*100,
  // day|null, operators' statuses] of the cell nearest to latlng: on a hexagon grid the
  // nearest centre is the cell holding the point.
  function nearestCell(detail, latlng, baseDay) {
    var x = 0, y = 0, best = null, bestD = Infinity;
    var cosLat = Math.cos(latlng.lat * Math.PI / 180);
    for (var i = 0; i < detail.length; i += 8) {
      x += detail[i]; y += detail[i + 1];
      var dx = (x / SCALE - latlng.lng) * cosLat, dy = y / SCALE - latlng.lat;
      var d = dx * dx + dy * dy;
      if (d < bestD) { bestD = d; best = i; }
    }
    return [detail[best + 2], detail[best + 3], detail[best + 4] === 0 ? null : detail[best + 4],
      detail[best + 5], detail[best + 6] === 0 ? null : baseDay - detail[best + 6] + 1,
      detail[best + 7]];
  }

  // Octal digits of maps/coverage.py OPERATOR_STATUS_CODES, in order from 1.
  var OPERATOR_STATUSES = ["covered", "weak", "dead", "unknown", "contested"];

  // A best-of-all cell's own operators: who has signal there and who has none (a planner
  // asked whose signal makes the cell covered or weak). names: spec.operators (escaped).
  function operatorLines(code, names, labels) {
    if (!code || !names) { return ""; }
    var rows = "";
    for (var i = 0; i < names.length; i++) {
      var digit = Math.floor(code / Math.pow(8, i)) % 8;
      if (digit > 0) { rows += row(names[i], labels["short." + OPERATOR_STATUSES[digit - 1]]); }
    }
    return rows ? "<b>" + labels["cell.operators"] + "</b><table>" + rows + "</table>" : "";
  }

  function cellPopup(statusLabel, c, labels, names) {
    return "<div class='dz-tip'><b>" + labels["cell.one"] + ": " + statusLabel + "</b><table>" +
      row(labels["cell.readings"], c[0]) +
      row(labels["cell.devices"], c[1]) +
      row(labels["cell.signal"], orNone(c[2], c[2] === null ? "" : c[2] + " " + labels["unit.dbm"], labels)) +
      row(labels["cell.confidence"], num(c[3] / 100, 2, labels)) +
      row(labels["cell.last_seen"], orNone(c[4], c[4] === null ? "" : dayToDate(c[4]), labels)) +
      "</table>" + operatorLines(c[5], names, labels) + "</div>";
  }

  function makeShape(entry, spec, labels, renderer) {
    var p = entry.patch, status = entry.status;
    var statusLabel = labels["status." + status];
    var shape = L.polygon(entry.latlngs, L.extend({renderer: renderer}, spec.styles[status]));
    var detail = p[2], cellData = null;
    shape.dzStatus = status;
    shape.bindTooltip(function () {
      return patchTooltip(statusLabel, p[1], detail, spec.baseDay, labels);
    }, {sticky: true});
    if (detail) {
      shape.on("click", function (e) {
        cellData = cellData || DZ.decodeInts(detail);
        L.popup().setLatLng(e.latlng)
          .setContent(cellPopup(statusLabel, nearestCell(cellData, e.latlng, spec.baseDay), labels,
            spec.operators))
          .openOn(shape._map);
      });
    }
    return shape;
  }

  /*
   * One resolution of one operator. Only patches whose box meets the (padded) view are turned
   * into Leaflet polygons: at zoom 13 a province shows a few percent of its res-9 patches, and
   * creating all ~16,000 took 2.9 s in the benchmark.
   */
  function Level(level, spec, labels, renderer) {
    var entries = [];
    level.classes.forEach(function (cls) {
      cls.patches.forEach(function (p) {
        var latlngs = DZ.decodePolygons(p[0]);
        var s = 90, w = 180, n = -90, e = -180, outer = latlngs[0][0];
        for (var i = 0; i < outer.length; i++) {
          var lat = outer[i][0], lng = outer[i][1];
          if (lat < s) { s = lat; } if (lat > n) { n = lat; }
          if (lng < w) { w = lng; } if (lng > e) { e = lng; }
        }
        entries.push({patch: p, status: cls.status, latlngs: latlngs, box: [s, w, n, e], shape: null});
      });
    });
    this.group = L.featureGroup();
    this.update = function (view) {
      var vs = view.getSouth(), vw = view.getWest(), vn = view.getNorth(), ve = view.getEast();
      for (var i = 0; i < entries.length; i++) {
        var en = entries[i], b = en.box;
        var visible = b[0] <= vn && b[2] >= vs && b[1] <= ve && b[3] >= vw;
        if (visible) {
          if (!en.shape) { en.shape = makeShape(en, spec, labels, renderer); }
          if (!this.group.hasLayer(en.shape)) { this.group.addLayer(en.shape); }
        } else if (en.shape && this.group.hasLayer(en.shape)) {
          this.group.removeLayer(en.shape);
        }
      }
    };
  }

  /*
   * One operator's coverage: a layer group that holds one sub-layer per H3 resolution and
   * shows the one whose zoom range contains the map's zoom. Sub-layers are built on first use,
   * so an operator that nobody selects costs only its JSON.
   */
  DZ.coverageLayer = function (map, spec, labels) {
    var group = L.layerGroup();
    var built = {};
    // Canvas, not SVG: with software raster (no GPU, 2 cores) an SVG of ~1,000 patches took
    // 1-5 s to repaint after a zoom in the benchmark, the canvas 0.05-0.2 s. Leaflet still
    // gives canvas paths tooltips and clicks.
    var renderer = L.canvas({padding: 0.5});
    function levelFor(zoom) {
      for (var i = 0; i < spec.levels.length; i++) {
        var lv = spec.levels[i];
        if (zoom >= lv.minZoom && zoom <= lv.maxZoom) { return i; }
      }
      return spec.levels.length - 1;
    }
    function sync() {
      var want = levelFor(map.getZoom());
      // Half a screen of margin on every side, as the renderer's padding, so a short pan
      // shows patches already drawn.
      var view = map.getBounds().pad(0.5);
      spec.levels.forEach(function (lv, i) {
        if (i === want) {
          if (!built[i]) { built[i] = new Level(lv, spec, labels, renderer); }
          built[i].update(view);
          if (!group.hasLayer(built[i].group)) { group.addLayer(built[i].group); }
        } else if (built[i] && group.hasLayer(built[i].group)) {
          group.removeLayer(built[i].group);
        }
      });
    }
    // No decided cell of this operator in the map's scope: while it is the one shown, the map
    // says so (spec.empty, escaped in Python) instead of lying blank.
    var empty = null;
    group.on("add", function () {
      sync();
      map.on("moveend", sync);
      if (spec.empty && !empty) {
        empty = L.DomUtil.create("div", "dz-empty", map.getContainer());
        empty.setAttribute("role", "status");
        empty.innerHTML = spec.empty;
      }
    });
    group.on("remove", function () {
      map.off("moveend", sync);
      if (empty) { L.DomUtil.remove(empty); empty = null; }
    });
    return group;
  };

  /**
   * pairs: [[operator layer, its estimate overlay or null], ...]. The estimate overlays are
   * check boxes, the operators radio buttons: without this, switching to Viettel left the
   * best of all's estimates drawn over Viettel's measured cells, read as Viettel's. While the
   * reader keeps estimates on, they are the shown operator's; turned off, they stay off.
   */
  DZ.estimatesFollowOperator = function (map, shown, pairs) {
    // shown: the one "estimated" overlay of the layer control; pairs: [base layer, its
    // estimates' group or null]. The overlay holds the group of the base layer shown, so
    // ticking it off keeps estimates off across operators, and on brings the right ones.
    function fill(base) {
      shown.clearLayers();
      pairs.forEach(function (p) {
        if (p[0] === base && p[1]) { shown.addLayer(p[1]); }
      });
    }
    var current = pairs.filter(function (p) { return map.hasLayer(p[0]); })[0];
    fill(current ? current[0] : null);
    map.on("baselayerchange", function (e) { fill(e.layer); });
  };

  // items: [{name: escaped text, polygons}]. Outlines get their own pane above the overlay
  // pane (z 400) so that the coverage canvases, created whenever an operator is first shown,
  // can never cover them.
  DZ.outlineLayer = function (map, items, style) {
    var group = L.featureGroup();
    if (!map.getPane("dzAreas")) { map.createPane("dzAreas").style.zIndex = 450; }
    var options = L.extend({pane: "dzAreas"}, style);
    items.forEach(function (item) {
      var shape = L.polygon(DZ.decodePolygons(item.polygons), options);
      shape.bindTooltip(item.name, {sticky: true});
      group.addLayer(shape);
    });
    return group;
  };

  function control(position, className, html) {
    var Ctl = L.Control.extend({
      onAdd: function () {
        var div = L.DomUtil.create("div", className);
        div.innerHTML = html;
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      }
    });
    return new Ctl({position: position});
  }

  // html: escaped in Python. The title box sits in the map container so it stays in fullscreen.
  // On a narrow screen deadzone.css makes it a bar across the top and starts the controls'
  // top corners below it; how tall the bar is (its text wraps) only the page knows, so it is
  // measured here into --dz-title-h, again whenever the map's size changes.
  DZ.addTitle = function (map, html) {
    var container = map.getContainer();
    var div = L.DomUtil.create("div", "dz-title", container);
    div.innerHTML = html;
    L.DomEvent.disableClickPropagation(div);
    function measure() {
      container.style.setProperty("--dz-title-h", (div.offsetTop + div.offsetHeight) + "px");
    }
    measure();
    map.on("resize", measure);
  };

  // The OpenStreetMap tiles are a convenience (no Internet, a blocked server): at the first
  // tile that fails the map says, once, that its background is missing and why the data is
  // still all there; text escaped in Python.
  DZ.noticeTileErrors = function (map, html) {
    var shown = false;
    map.eachLayer(function (layer) {
      if (!(layer instanceof L.TileLayer)) { return; }
      layer.on("tileerror", function () {
        if (shown) { return; }
        shown = true;
        control("bottomleft", "dz-notice", html).addTo(map);
      });
    });
  };

  /*
   * A control whose heading (tag ``heading``) is a button that folds its body: the legend and
   * the zone list. Whether it starts open is deadzone.css's media queries; the classes dz-open
   * and dz-folded record the reader's own choice against that default. title and html escaped
   * by the caller. Returns the control's element and fold(open), which sets it from script.
   */
  function foldable(map, position, className, heading, title, html) {
    var ctl = control(position, className,
      "<" + heading + "><button type='button' class='" + className + "-toggle'>" + title +
      "</button></" + heading + "><div class='" + className + "-body'>" + html + "</div>");
    ctl.addTo(map);
    var div = ctl.getContainer(), button = div.querySelector("button");
    var body = div.querySelector("." + className + "-body");
    function shown() { return root.getComputedStyle(body).display !== "none"; }
    function sync() { button.setAttribute("aria-expanded", String(shown())); }
    function fold(open) {
      div.classList.toggle("dz-open", open);
      div.classList.toggle("dz-folded", !open);
      sync();
    }
    button.addEventListener("click", function () { fold(!shown()); });
    sync();
    map.on("resize", sync);
    return {element: div, fold: fold};
  }

  // The legend starts open on wide screens and folded on phones, where it covered half of
  // the coverage map (maps/page.py add_legend).
  DZ.addLegend = function (map, title, html) {
    foldable(map, "bottomright", "dz-legend", "h2", title, html);
  };

  var BADGE_PX = 26;  // a zone's round rank badge (deadzone.css .dz-rank)

  // Popups 360 px wide at most, and on a phone narrow enough to stand between the zoom
  // buttons (54 px, panned clear of) and the right edge, with Leaflet's ~47 px around the
  // content: on a 390 px phone a 360 px popup ran 21 px off the screen, its close button
  // with it, and the zoom buttons covered its first lines.
  function popupOptions(map) {
    return {maxWidth: Math.max(200, Math.min(360, map.getSize().x - 110)),
            autoPanPaddingTopLeft: L.point(54, 10)};
  }

  // Phones: where the zone list (a quarter of a 390 x 844 screen) would cover the popup of the
  // zone just chosen from it (deadzone.css NARROW, kept equal).
  var NARROW = "(max-width: 640px), (max-height: 540px)";

  /*
   * Dead zones, already ordered by priority. zones: [{rank, label, popup, polygons, point}],
   * label and popup escaped in Python. Adds the side list whose entries zoom to their zone.
   */
  DZ.zoneLayer = function (map, zones, style, listTitle, emptyText) {
    var group = L.featureGroup(), badges = [];
    var shapes = zones.map(function (z) {
      var shape = L.polygon(DZ.decodePolygons(z.polygons), style).bindPopup(z.popup, popupOptions(map));
      var label = L.marker(z.point, {
        icon: L.divIcon({className: "dz-rank", html: String(z.rank), iconSize: [26, 26]}),
        keyboard: false
      });
      label.on("click", function () { shape.openPopup(); });
      group.addLayer(shape);
      group.addLayer(label);
      badges.push(label);
      return shape;
    });
    // Rank badges of neighbouring zones lay over each other at a province's zoom, and the
    // number on top hid the other. As maps place labels, a badge that would overlap one of a
    // zone of higher priority (zones come ordered) is left out until the map zooms in far
    // enough to part them; its outline stays, and the list names it. Leaflet has no label
    // collision of its own: written here for badges of one size and a few hundred zones,
    // where a plugin would be one more asset to ship.
    function declutter() {
      var shown = [];
      badges.forEach(function (badge) {
        var element = badge.getElement();
        if (!element) { return; }
        var p = map.latLngToLayerPoint(badge.getLatLng());
        var clear = shown.every(function (q) { return p.distanceTo(q) >= BADGE_PX; });
        element.style.display = clear ? "" : "none";
        if (clear) { shown.push(p); }
      });
    }
    group.on("add", declutter);
    map.on("zoomend", declutter);
    var items = zones.map(function (z, i) {
      return "<li><a href='#' data-zone='" + i + "'><span class='dz-rank-chip'>" + z.rank +
        "</span> " + z.label + "</a></li>";
    }).join("");
    var html = zones.length ? "<ol>" + items + "</ol>" : "<p>" + emptyText + "</p>";
    var panel = foldable(map, "topright", "dz-panel", "h3", listTitle, html);
    // On a phone the open list covers the top of the map (a third of it at 390 x 844): the
    // first view is fitted again into the part below it, so no zone starts under the list.
    if (zones.length && map.dzView && root.matchMedia && root.matchMedia(NARROW).matches) {
      var top = map.getContainer().getBoundingClientRect().top;
      var below = panel.element.getBoundingClientRect().bottom - top;
      map.fitBounds(map.dzView, {paddingTopLeft: [10, below + 10], paddingBottomRight: [10, 10],
                                 animate: false});
    }
    panel.element.addEventListener("click", function (e) {
      var link = e.target.closest("a[data-zone]");
      if (!link) { return; }
      e.preventDefault();
      var shape = shapes[Number(link.getAttribute("data-zone"))];
      if (!map.hasLayer(group)) { map.addLayer(group); }
      // On a phone the list folds to its heading, which opens it again, and the popup shows.
      if (root.matchMedia && root.matchMedia(NARROW).matches) {
        panel.fold(false);
        // The folded heading stays at the top: the popup is panned below it.
        var top = map.getContainer().getBoundingClientRect().top;
        shape.getPopup().options.autoPanPaddingTopLeft =
          L.point(54, panel.element.getBoundingClientRect().bottom - top + 10);
      }
      // No animation: the popup then opens on the final view and autoPans from there.
      map.fitBounds(shape.getBounds(), {maxZoom: 15, padding: [20, 20], animate: false});
      shape.openPopup();
    });
    return group;
  };

  // Whole numbers with the page language's thousands separator (maps/i18n.py).
  function int(value, labels) {
    return String(Math.round(value)).replace(/\B(?=(\d{3})+(?!\d))/g, labels["format.thousands"]);
  }

  // A share in 1/10,000 as a percentage with one decimal, rounded down: 99.99 % must not read
  // as 100 % when the goal is everybody.
  function percent(share, labels) {
    return num(Math.floor(share / 10) / 10, 1, labels) + "%";
  }

  // Grey with diagonal strokes for "no population data": a canvas pattern, which Leaflet's
  // canvas renderer takes as a fillStyle.
  function hatchPattern(fill, line) {
    var c = document.createElement("canvas");
    c.width = c.height = 8;
    var g = c.getContext("2d");
    g.fillStyle = fill;
    g.fillRect(0, 0, 8, 8);
    g.strokeStyle = line;
    g.lineWidth = 1.5;
    g.beginPath();
    g.moveTo(0, 8); g.lineTo(8, 0);
    g.moveTo(-2, 2); g.lineTo(2, -2);
    g.moveTo(6, 10); g.lineTo(10, 6);
    g.stroke();
    return g.createPattern(c, "repeat");
  }

  // c: [name, polygons, class (-1: no data), people, covered, share x 10,000 (-1: none),
  // gap to goal (-1: none), villages trang_song, lom_song, covered, unknown, open zones]
  // (maps/progress.py _commune_row). The name was escaped in Python.
  function shareText(c, labels) {
    return c[5] < 0 ? labels["commune.no_data"] : percent(c[5], labels);
  }

  function communePopup(c, spec, labels) {
    var people = " " + labels["zone.people"];
    var rows = row(labels["commune.population"], int(c[3], labels) + people) +
      row(labels["commune.covered"], int(c[4], labels) + people) +
      row(labels["commune.share"], shareText(c, labels));
    if (spec.goal !== null) {
      rows += row(labels["commune.goal"], spec.goal);
      if (c[6] >= 0) {
        rows += row(labels["commune.gap"],
          c[6] === 0 ? labels["commune.gap_none"] : int(c[6], labels) + people);
      }
    }
    var villages = spec.statuses.map(function (s, i) {
      return row(labels["village." + s], int(c[7 + i], labels));
    }).join("");
    return "<div class='dz-popup'><b>" + c[0] + "</b><table>" + rows +
      row(labels["commune.zones"], int(c[11], labels)) + "</table><b>" +
      labels["progress.villages"] + "</b><table>" + villages + "</table></div>";
  }

  // v: the village's integers (maps/progress.py VILLAGE_INTS, spec.villageInts).
  function villagePopup(name, v, status, spec, labels) {
    var none = labels["value.none"];
    return "<div class='dz-popup'><b>" + name + "</b><table>" +
      row(labels["village.commune"], v[6] ? spec.places[v[6] - 1] : none) +
      row(labels["village.population"], v[2] ? int(v[2] - 1, labels) : none) +
      row(labels["village.status"], labels["village." + status] + " (" +
        labels["village.alt." + status] + ")") +
      row(labels["village.centre"], labels["centre." + spec.centreStatuses[v[7]]]) +
      (v[8] ? row(labels["village.likely"], labels["likely." + spec.likelyStatuses[v[8] - 1]] +
        " (" + percent(v[9] * 10, labels) + ")") : "") +
      row(labels["village.people_dead"], int(v[3], labels) + " " + labels["zone.people"]) +
      row(labels["village.cells_dead"], v[4] + " / " + v[5]) +
      "</table></div>";
  }

  /*
   * The progress map (maps/progress.py): communes filled by share of people covered and one
   * group of village markers per status, all on one canvas. One canvas, because a canvas in a
   * higher pane would swallow the clicks meant for the communes below it. Returns
   * {communes, villages: {status: group}} for the layer control.
   */
  DZ.progressLayers = function (map, spec, labels) {
    var renderer = L.canvas({padding: 0.5});
    var communes = L.featureGroup(), hatch = null;
    spec.communes.forEach(function (c, i) {
      var style;
      if (c[2] < 0) {
        hatch = hatch || hatchPattern(spec.noData.fillColor, spec.noData.hatch);
        style = L.extend({}, spec.noData, {fillColor: hatch});
      } else {
        style = spec.classes[c[2]];
      }
      var shape = L.polygon(DZ.decodePolygons(c[1]), L.extend({renderer: renderer}, style));
      shape.dzCommune = i;
      shape.bindTooltip(function () { return c[0] + " · " + shareText(c, labels); }, {sticky: true});
      communes.addLayer(shape);
    });
    communes.on("click", function (e) {
      var c = spec.communes[(e.propagatedFrom || e.layer).dzCommune];
      L.popup(popupOptions(map)).setLatLng(e.latlng).setContent(communePopup(c, spec, labels))
        .openOn(map);
    });
    var villages = {};
    spec.statuses.forEach(function (status) {
      var list = spec.villages[status], data = DZ.decodeInts(list.data);
      var group = L.featureGroup();
      var style = L.extend({renderer: renderer}, spec.villageStyles[status]);
      var x = 0, y = 0;
      var n = spec.villageInts;
      for (var k = 0; k < data.length; k += n) {
        x += data[k]; y += data[k + 1];
        var marker = L.circleMarker([y / SCALE, x / SCALE], style);
        marker.dzVillage = k / n;
        marker.dzVillageStatus = status;
        group.addLayer(marker);
      }
      group.on("click", function (e) {
        var marker = e.propagatedFrom || e.layer, k = marker.dzVillage * n;
        L.popup(popupOptions(map)).setLatLng(marker.getLatLng())
          .setContent(villagePopup(list.names[marker.dzVillage], data.slice(k, k + n), status,
            spec, labels))
          .openOn(map);
      });
      villages[status] = group;
    });
    // A province's 5,000 villages at full size would hide the communes at the province's
    // zoom: markers grow from a third of their radius at zoom 9 or less to the full radius
    // from zoom 12, where a commune fills the screen.
    function resize() {
      var zoom = map.getZoom(), f = zoom >= 12 ? 1 : zoom <= 9 ? 1 / 3 : (zoom - 8) / 4;
      spec.statuses.forEach(function (s) {
        var style = spec.villageStyles[s];
        var r = Math.max(2.5, style.radius * f), w = Math.max(0.5, style.weight * f);
        villages[s].eachLayer(function (m) {
          if (m.getRadius() !== r) { m.setRadius(r); m.setStyle({weight: w}); }
        });
      });
    }
    resize();
    map.on("zoomend", resize);
    // The canvas draws (and hit-tests) in the order shapes were added: whenever a layer is
    // switched on, put the villages above the communes, and the villages without signal
    // above the covered ones (spec.drawOrder), so that no trouble hides under a success.
    function restack() {
      spec.drawOrder.forEach(function (s) {
        if (map.hasLayer(villages[s])) { villages[s].bringToFront(); }
      });
    }
    communes.on("add", restack);
    spec.statuses.forEach(function (s) { villages[s].on("add", restack); });
    return {communes: communes, villages: villages};
  };

  /*
   * Suggested sites (maps/deadzones.py): a numbered marker with the popup (escaped in Python)
   * and the coverage circle, radius in metres.
   */
  DZ.siteLayer = function (map, sites, circleStyle) {
    var group = L.featureGroup();
    sites.forEach(function (s) {
      group.addLayer(L.circle([s.lat, s.lon], L.extend({radius: s.radius}, circleStyle)));
      // A square badge on a pin above its point: a site often stands on the cell of the zone
      // it serves best, whose round rank badge (26 px) is centred on that point, and both are
      // numbered (drawn on the point, the square hid the zone's number). The square's bottom
      // is 16 px above the point, clear of that badge; its pin reaches down to it.
      var marker = L.marker([s.lat, s.lon], {
        icon: L.divIcon({className: "dz-site", html: String(s.rank), iconSize: [26, 26],
                         iconAnchor: [13, 42], popupAnchor: [0, -42]}),
        title: s.title,
        zIndexOffset: 1000,
        keyboard: false
      });
      marker.bindPopup(s.popup, popupOptions(map));
      group.addLayer(marker);
    });
    return group;
  };

  // Tests and the benchmark wait for this: set after the first frame that has the layers.
  DZ.markReady = function (map) {
    root.requestAnimationFrame(function () {
      root.requestAnimationFrame(function () {
        root.deadzoneReady = true;
        document.documentElement.setAttribute("data-deadzone-ready", "1");
      });
    });
  };
}(window));
