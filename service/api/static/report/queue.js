/* The outbox of the reporter page: readings wait in IndexedDB on the phone until the
   server has answered for them. Loaded by the page (<script>) and by the service worker
   (importScripts), so Background Sync and the page send through the same code.

   Delivery is "at least once" from the phone and "exactly once in effect" on the server:
   a reading leaves the queue only after POST /v1/readings answered 200 for its batch, and
   the server counts a resent (device, id) as a duplicate, never as a second reading.
   Written for old Android Chrome: Promises, no async/await, no optional chaining. */
(function (global) {
  "use strict";

  var DB_NAME = "deadzone-reporter";
  var DB_VERSION = 1;
  var ENDPOINT = "/v1/readings";
  // Small batches: a village connection may drop mid-request; a batch either got its 200 or
  // is sent again whole. The server accepts up to max_batch_readings (5000 by default).
  var BATCH_SIZE = 100;
  var MAX_REJECTED_KEPT = 50;
  var LOCK_NAME = "deadzone-send";
  // A phone's clock against the server's (the Date header of its answers): one running
  // ahead had every report refused as "in the future" (the server allows 10 minutes) and
  // lost; one running behind filed them under the wrong day. Gaps under a minute are left
  // alone: the header counts whole seconds and the trip itself takes time.
  var CLOCK_GAP_MS = 60000;

  var dbPromise = null;

  function openDb() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      var request = global.indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = function () {
        var db = request.result;
        // queue: {id, reading, queued_at}; meta: {key, value} (device token, last send,
        // refused reports to show the resident).
        if (!db.objectStoreNames.contains("queue")) db.createObjectStore("queue", { keyPath: "id" });
        if (!db.objectStoreNames.contains("meta")) db.createObjectStore("meta", { keyPath: "key" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { dbPromise = null; reject(request.error); };
    });
    return dbPromise;
  }

  function done(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function finished(tx) {
    return new Promise(function (resolve, reject) {
      tx.oncomplete = function () { resolve(); };
      tx.onerror = function () { reject(tx.error); };
      tx.onabort = function () { reject(tx.error || new Error("transaction aborted")); };
    });
  }

  function store(name, mode) {
    return openDb().then(function (db) { return db.transaction(name, mode).objectStore(name); });
  }

  function getMeta(key) {
    return store("meta", "readonly")
      .then(function (s) { return done(s.get(key)); })
      .then(function (row) { return row ? row.value : null; });
  }

  function setMeta(key, value) {
    return openDb().then(function (db) {
      var tx = db.transaction("meta", "readwrite");
      tx.objectStore("meta").put({ key: key, value: value });
      return finished(tx);
    });
  }

  /* A random id: crypto.randomUUID where it exists (Chrome 92+), else 128 random bits. */
  function randomId() {
    var c = global.crypto;
    if (c && typeof c.randomUUID === "function") return c.randomUUID();
    var bytes = new Uint8Array(16);
    c.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  /* The phone's stable, random device token: in IndexedDB (the worker can read it) and in
     localStorage (survives if the database is cleared alone). Never a phone number. */
  function deviceToken(local) {
    return getMeta("device").then(function (token) {
      if (!token && local) token = local.getItem("dz.device");
      if (!token) token = "rp-" + randomId();
      if (local) local.setItem("dz.device", token);
      return setMeta("device", token).then(function () { return token; });
    });
  }

  /* Queue a canonical reading; ``kind`` is the button the resident chose (the reading
     alone cannot tell "no signal" from "emergency calls only"), kept to describe a refusal. */
  function enqueue(reading, kind) {
    return openDb().then(function (db) {
      var tx = db.transaction("queue", "readwrite");
      tx.objectStore("queue").put({
        id: reading.id, reading: reading, kind: kind || null, queued_at: new Date().toISOString()
      });
      return finished(tx);
    });
  }

  /* Queue the readings of one report ({reading, kind} each) in one transaction: all of
     them or none. */
  function enqueueAll(items) {
    return openDb().then(function (db) {
      var tx = db.transaction("queue", "readwrite");
      var queue = tx.objectStore("queue");
      var at = new Date().toISOString();
      items.forEach(function (item) {
        queue.put({ id: item.reading.id, reading: item.reading, kind: item.kind || null, queued_at: at });
      });
      return finished(tx);
    });
  }

  function count() {
    return store("queue", "readonly").then(function (s) { return done(s.count()); });
  }

  function list(limit) {
    return store("queue", "readonly").then(function (s) {
      if (s.getAll) return done(s.getAll(null, limit));
      return new Promise(function (resolve, reject) {  // Chrome < 48 has no getAll
        var rows = [];
        var cursor = s.openCursor();
        cursor.onsuccess = function () {
          var c = cursor.result;
          if (c && (!limit || rows.length < limit)) { rows.push(c.value); c.continue(); } else resolve(rows);
        };
        cursor.onerror = function () { reject(cursor.error); };
      });
    });
  }

  /* Remove a delivered batch and remember what the server refused, when it last answered
     and what it did with the batch (stored, refused), all in one transaction. ``again``:
     rows of the batch put back in the queue, restamped (``restamp``). ``offset``: the
     phone's clock gap to the server's, ms (null: the answer had no date). */
  function settle(batch, refused, sentAt, answer, again, offset) {
    return openDb().then(function (db) {
      var tx = db.transaction(["queue", "meta"], "readwrite");
      var queue = tx.objectStore("queue");
      var meta = tx.objectStore("meta");
      batch.forEach(function (row) { queue.delete(row.id); });
      again.forEach(function (row) { queue.put(row); });
      if (offset !== null) meta.put({ key: "clock_offset", value: offset });
      meta.put({ key: "last_sent", value: sentAt });
      meta.put({ key: "last_result", value: {
        accepted: answer.accepted || 0, duplicates: answer.duplicates || 0, rejected: refused.length
      } });
      if (refused.length) {
        var get = meta.get("rejected");
        get.onsuccess = function () {
          var kept = (get.result ? get.result.value : []).concat(refused);
          meta.put({ key: "rejected", value: kept.slice(-MAX_REJECTED_KEPT) });
        };
      }
      return finished(tx);
    });
  }

  /* The server's rejections grouped per reading: {reading, kind, problems: [{field, code,
     reason}]}. */
  function refusedOf(batch, answer) {
    var byIndex = {};
    (answer.rejected || []).forEach(function (r) {
      (byIndex[r.index] = byIndex[r.index] || []).push({ field: r.field, code: r.code, reason: r.reason });
    });
    return Object.keys(byIndex).map(function (i) {
      var row = batch[Number(i)];
      return { reading: row.reading, kind: row.kind, problems: byIndex[i], row: row };
    });
  }

  function postBatch(batch) {
    var body = JSON.stringify({ readings: batch.map(function (row) { return row.reading; }) });
    return global.fetch(ENDPOINT, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: body,
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (response) {
      if (response.status !== 200) {
        var error = new Error("server answered " + response.status);
        error.status = response.status;
        throw error;
      }
      var offset = clockOffsetOf(response);
      return response.json().then(function (answer) { return { answer: answer, offset: offset }; });
    });
  }

  /* The server's clock minus the phone's, ms, from an answer's Date header; 0 when the gap
     is under CLOCK_GAP_MS, null when the answer has no date. */
  function clockOffsetOf(response) {
    var server = Date.parse(response.headers.get("Date") || "");
    if (isNaN(server)) return null;
    var offset = server - Date.now();
    return Math.abs(offset) < CLOCK_GAP_MS ? 0 : offset;
  }

  /* The reports the server refused only because the phone's clock ran ahead, stamped again
     on the server's clock (once: a report still refused after that is shown and dropped). */
  function restamp(refused, offset) {
    if (!offset) return [];
    return refused.filter(function (r) {
      return !r.row.restamped && r.problems.every(function (p) { return p.code === "future"; });
    }).map(function (r) {
      var reading = {};
      Object.keys(r.row.reading).forEach(function (k) { reading[k] = r.row.reading[k]; });
      reading.observed_at = new Date(Date.parse(reading.observed_at) + offset).toISOString();
      return { id: r.row.id, reading: reading, kind: r.row.kind, queued_at: r.row.queued_at, restamped: true };
    });
  }

  /* Now on the server's clock, as far as its last answer told (ms since the epoch). */
  function now() {
    return getMeta("clock_offset").then(
      function (offset) { return Date.now() + (offset || 0); },
      function () { return Date.now(); }
    );
  }

  /* Send everything queued, batch after batch. Resolves to totals; rejects on the first
     batch that got no 200 (the batch stays queued and is sent again later). */
  function sendAllUnlocked() {
    var totals = { batches: 0, accepted: 0, duplicates: 0, rejected: 0 };
    function next() {
      return list(BATCH_SIZE).then(function (batch) {
        if (!batch.length) return totals;
        return postBatch(batch).then(function (sent) {
          var answer = sent.answer;
          var all = refusedOf(batch, answer);
          var again = restamp(all, sent.offset);
          var ids = again.map(function (row) { return row.id; });
          var refused = all.filter(function (r) {
            return ids.indexOf(r.row.id) < 0;
          }).map(function (r) {
            return { reading: r.reading, kind: r.kind, problems: r.problems };
          });
          totals.batches += 1;
          totals.accepted += answer.accepted || 0;
          totals.duplicates += answer.duplicates || 0;
          totals.rejected += refused.length;
          return settle(batch, refused, new Date().toISOString(), answer, again, sent.offset).then(next);
        });
      });
    }
    return next();
  }

  var inFlight = null;

  /* One sender at a time per phone: a Web Lock spans the page and the worker where the
     browser has it (Chrome 69+); otherwise concurrent calls in one context share a run.
     Sending twice would still be safe, only wasteful. */
  function sendAll() {
    var locks = global.navigator && global.navigator.locks;
    if (locks && typeof locks.request === "function") {
      return locks.request(LOCK_NAME, sendAllUnlocked);
    }
    if (!inFlight) {
      inFlight = sendAllUnlocked().then(
        function (t) { inFlight = null; return t; },
        function (e) { inFlight = null; throw e; }
      );
    }
    return inFlight;
  }

  function clearRejected() {
    return setMeta("rejected", []);
  }

  global.DZQueue = {
    SYNC_TAG: "deadzone-send",
    randomId: randomId,
    deviceToken: deviceToken,
    enqueue: enqueue,
    enqueueAll: enqueueAll,
    count: count,
    list: list,
    sendAll: sendAll,
    getMeta: getMeta,
    clearRejected: clearRejected,
    now: now
  };
})(self);
