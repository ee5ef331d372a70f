/* /plan, the operator's commitments: the dead zones and villages the authority assigned to
   the chosen operator, with buttons to mark each planned or on air (PATCH
   /v1/commitments/{id} with the page's API key) and the re-verification the service
   computes from readings after on_air_at. Kept apart from plan.js. */
(function () {
  "use strict";

  var P = window.deadzonePages;
  var t = P.t;
  var fmt = P.fmt;
  var el = P.el;
  var OPERATOR = new RegExp("^" + window.DEADZONE_VOCABULARY.operator_code + "$");

  function $(id) { return document.getElementById(id); }

  function operator() {
    var chosen = P.params.get("operator") || "any";
    return OPERATOR.test(chosen) ? chosen : null;
  }

  function say(text, kind) {
    var node = $("commitments-status");
    node.textContent = text;
    node.className = kind === "error" ? "status error" : "hint";
  }

  /* A datetime-local value (the planner's clock) as RFC 3339 with the browser's offset. */
  function rfc3339(local) {
    var when = new Date(local);
    var offset = -when.getTimezoneOffset();
    var sign = offset >= 0 ? "+" : "-";
    var pad = function (n) { return String(Math.floor(Math.abs(n))).padStart(2, "0"); };
    return local + (local.length === 16 ? ":00" : "") + sign + pad(offset / 60) + ":" + pad(offset % 60);
  }

  function nowLocal() {
    var now = new Date(Date.now() - new Date().getTimezoneOffset() * 60000);
    return now.toISOString().slice(0, 16);
  }

  function patch(commitment, body) {
    var headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (P.apiKey()) headers["X-Deadzone-Key"] = P.apiKey();
    return fetch("/v1/commitments/" + commitment.id, {
      method: "PATCH", headers: headers, body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) {
          var detail = "HTTP " + response.status + ": " + (answer.message ||
            (answer.errors || []).map(function (e) { return e.field + " " + e.reason; }).join("; "));
          throw new Error(detail);
        }
        return answer;
      });
    }).then(function () {
      say(t("action.done", { id: commitment.id }));
      return load();
    }).catch(function (error) {
      say(t("action.failed", { id: commitment.id, detail: error.message }), "error");
    });
  }

  function actions(commitment) {
    var box = el("div", "actions");
    if (commitment.state === "assigned") {
      var planned = el("button", "button", t("action.planned"));
      planned.type = "button";
      planned.setAttribute("data-action", "planned");
      planned.addEventListener("click", function () { patch(commitment, { state: "planned" }); });
      box.appendChild(planned);
    }
    var label = el("label", null, t("action.on_air_at") + " ");
    var when = el("input");
    when.type = "datetime-local";
    when.value = nowLocal();
    when.max = nowLocal();
    when.setAttribute("data-field", "on_air_at");
    label.appendChild(when);
    box.appendChild(label);
    var onAir = el("button", "button", t("action.on_air"));
    onAir.type = "button";
    onAir.setAttribute("data-action", "on_air");
    onAir.addEventListener("click", function () {
      patch(commitment, { state: "on_air", on_air_at: rfc3339(when.value || nowLocal()) });
    });
    box.appendChild(onAir);
    return box;
  }

  function render(list) {
    var table = $("commitments-table");
    table.hidden = list.length === 0;
    if (!list.length) {
      say(t("commitments.none"));
      return;
    }
    // Built by hand, not with sortableTable: a re-sort would drop the rows' buttons.
    var columns = [
      ["id", "col.id", function (c) { return String(c.id); }],
      ["what", "col.zone", function (c) { return c.zone_id || c.village; }],
      ["due", "col.due", function (c) { return fmt.day(c.due); }],
      ["state", "col.state", function (c) { return t("state." + c.state); }],
      ["on_air_at", "col.on_air_at",
       function (c) { return c.on_air_at ? fmt.moment(c.on_air_at) : "–"; }],
      ["verification", "col.verification", function (c) { return t("verification." + c.verification); }]
    ];
    var head = table.querySelector("thead");
    var body = table.querySelector("tbody");
    head.textContent = "";
    body.textContent = "";
    var headRow = head.appendChild(el("tr"));
    columns.concat([["actions", "col.actions"]]).forEach(function (column) {
      var th = el("th", null, t(column[1]));
      th.scope = "col";
      headRow.appendChild(th);
    });
    list.forEach(function (commitment) {
      var tr = el("tr");
      tr.setAttribute("data-key", String(commitment.id));
      tr.setAttribute("data-verification", commitment.verification);
      columns.forEach(function (column) {
        var td = el("td", null, column[2](commitment));
        td.setAttribute("data-col", column[0]);
        tr.appendChild(td);
      });
      var cell = el("td");
      cell.setAttribute("data-col", "actions");
      cell.appendChild(actions(commitment));
      tr.appendChild(cell);
      body.appendChild(tr);
    });
  }

  function load() {
    var chosen = operator();
    if (!chosen) {
      say(t("commitments.need_operator"));
      return Promise.resolve();
    }
    return P.getJSON("/v1/commitments?operator=" + encodeURIComponent(chosen))
      .then(function (body) { render(body.commitments); })
      .catch(function (error) {
        $("commitments-table").hidden = true;
        say(t("commitments.need_key", { detail: error.message }), "error");
      });
  }

  P.applyStrings($("commitments"));
  load().then(function () { document.body.setAttribute("data-commitments-ready", "true"); });
})();
