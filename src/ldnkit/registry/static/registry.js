// The registry's web page. It reads and writes through the OGC API Features of the same server.
// Every string from the data goes into the page as text (textContent), never as markup.
"use strict";

const ITEMS = "collections/activities/items";
const TOKEN_KEY = "ldnkit-registry-token";
const STATUS_COLOURS = {
  draft: "#7f7f7f", pending_approval: "#1f78b4", information_required: "#ff7f00",
  approved: "#33a02c", rejected: "#e31a1c",
};

const state = { features: [], drawing: null, geometry: null, editing: null, fitted: false };

// ---- small helpers -------------------------------------------------------------------------------
function $(id) { return document.getElementById(id); }

function el(tag, text, attrs) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  return node;
}

function say(text, isError) {
  const box = $("message");
  box.textContent = text;
  box.className = isError ? "error" : "";
}

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

async function api(path, options) {
  const opts = options || {};
  const headers = Object.assign({ Accept: "application/geo+json, application/json" }, opts.headers || {});
  if (token()) headers.Authorization = "Bearer " + token();
  const response = await fetch(path, Object.assign({}, opts, { headers }));
  if (response.status === 204) return { response, body: null };
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const what = body && body.description ? `${body.field}: ${body.description}` : response.statusText;
    const fix = body && body.fix ? ` (${body.fix})` : "";
    throw new Error(`${response.status} ${what}${fix}`);
  }
  return { response, body };
}

function etagOf(feature) { return `"${feature.properties.version}"`; }

function area(value) { return value === null || value === undefined ? "" : Number(value).toFixed(1); }

// ---- map ----------------------------------------------------------------------------------------
const map = L.map("map", { worldCopyJump: true }).setView([0, 0], 2);
const activityLayer = L.geoJSON(null, {
  style: (f) => ({ color: STATUS_COLOURS[f.properties.status] || "#000", weight: 2, fillOpacity: 0.25 }),
  onEachFeature: (f, layer) => layer.bindPopup(() => popupOf(f)),
}).addTo(map);
const draftLayer = L.geoJSON(null, { style: { color: "#d0f", weight: 2, dashArray: "4 4" } }).addTo(map);

function popupOf(feature) {
  const p = feature.properties;
  const box = el("div");
  box.append(el("strong", p.name), el("br"), el("span", `${p.site || ""} · ${p.status} · ${area(p.computed_area_ha)} ha`));
  return box;
}

function showActivities(features) {
  activityLayer.clearLayers();
  activityLayer.addData(features);
  if (!state.fitted && features.length) {
    map.fitBounds(activityLayer.getBounds(), { maxZoom: 12 });
    state.fitted = true;
  }
}

async function loadOverlays() {
  const { body } = await api("overlays");
  const box = $("legend");
  for (const overlay of body.overlays) {
    const { response } = await fetchPng(overlay.href);
    const url = URL.createObjectURL(await response.blob());
    const [s, w, n, e] = overlay.bounds;
    const image = L.imageOverlay(url, [[s, w], [n, e]], { opacity: 0.7 });
    const check = el("input", null, { type: "checkbox" });
    check.addEventListener("change", () => (check.checked ? image.addTo(map).bringToBack() : image.remove()));
    const row = el("div");
    const label = el("label");
    label.append(check, document.createTextNode(" " + overlay.title));
    row.append(label);
    for (const entry of overlay.legend) {
      const swatch = el("span", null, { class: "swatch" });
      swatch.style.backgroundColor = entry.colour;
      row.append(swatch, document.createTextNode(entry.name));
    }
    box.append(row);
    if (!state.fitted) { map.fitBounds([[s, w], [n, e]]); state.fitted = true; }
  }
  box.hidden = body.overlays.length === 0;
}

async function fetchPng(href) {
  const headers = token() ? { Authorization: "Bearer " + token() } : {};
  const response = await fetch(href, { headers });
  if (!response.ok) throw new Error(`${response.status} overlay ${href}`);
  return { response };
}

// ---- activities: table and approval queue -------------------------------------------------------
function filterQuery() {
  const params = new URLSearchParams({ limit: "1000" });
  for (const key of ["status", "level", "practice"]) {
    const value = $("filter-" + key).value.trim();
    if (value) params.set(key, value);
  }
  return params;
}

async function fetchAll(params) {
  let url = ITEMS + "?" + params.toString();
  const features = [];
  for (let page = 0; url && page < 50; page++) {
    const { body } = await api(url);
    features.push(...body.features);
    const next = (body.links || []).find((link) => link.rel === "next");
    url = next ? next.href : null;
  }
  return features;
}

async function loadActivities() {
  state.features = await fetchAll(filterQuery());
  showActivities(state.features);
  fillTable(state.features);
  fillQueue(await fetchAll(new URLSearchParams({ status: "pending_approval", limit: "1000" })));
}

function button(text, onClick) {
  const b = el("button", text, { type: "button" });
  b.addEventListener("click", () => onClick().catch((err) => say(err.message, true)));
  return b;
}

function fillTable(features) {
  const body = $("activities").tBodies[0];
  body.replaceChildren();
  for (const f of features) {
    const p = f.properties;
    const row = el("tr", null, { "data-id": f.id });
    row.append(el("td", p.name), el("td", p.site), el("td", p.status), el("td", p.level || ""),
      el("td", (p.practices || []).join("; ")), el("td", area(p.computed_area_ha), { class: "number" }),
      el("td", p.version, { class: "number" }));
    const actions = el("td");
    actions.append(button("Edit", async () => editActivity(f)), button("Show", async () => zoomTo(f)));
    if (p.status === "draft" || p.status === "information_required") {
      actions.append(button("Submit", async () => setStatus(f, "pending_approval")));
    }
    row.append(actions);
    body.append(row);
  }
  $("count").textContent = `(${features.length})`;
}

function fillQueue(features) {
  const body = $("queue").tBodies[0];
  body.replaceChildren();
  for (const f of features) {
    const p = f.properties;
    const row = el("tr", null, { "data-id": f.id });
    const actions = el("td");
    actions.append(button("Approve", async () => setStatus(f, "approved")),
      button("Needs information", async () => setStatus(f, "information_required")),
      button("Reject", async () => setStatus(f, "rejected")));
    row.append(el("td", p.name), el("td", p.site), el("td", p.updated_by),
      el("td", area(p.computed_area_ha), { class: "number" }), actions);
    body.append(row);
  }
  if (!features.length) {
    const row = el("tr");
    row.append(el("td", "Nothing waiting.", { colspan: "5" }));
    body.append(row);
  }
}

function zoomTo(feature) {
  map.fitBounds(L.geoJSON(feature).getBounds(), { maxZoom: 14 });
}

async function setStatus(feature, status) {
  const body = { type: "Feature", properties: { status } };
  await api(`${ITEMS}/${encodeURIComponent(feature.id)}`, {
    method: "PATCH", body: JSON.stringify(body),
    headers: { "Content-Type": "application/json", "If-Match": etagOf(feature) },
  });
  say(`${feature.properties.name}: ${status.replaceAll("_", " ")}.`);
  await loadActivities();
}

// ---- the form: add or edit an activity ----------------------------------------------------------
const FIELDS = { name: "f-name", site: "f-site", region: "f-region", level: "f-level",
  start_date: "f-start", end_date: "f-end", implementer: "f-implementer" };

function setGeometry(geometry, note) {
  state.geometry = geometry;
  draftLayer.clearLayers();
  if (geometry) draftLayer.addData(geometry);
  $("geometry-note").textContent = note;
}

function editActivity(feature) {
  state.editing = feature;
  const p = feature.properties;
  for (const [field, id] of Object.entries(FIELDS)) $(id).value = p[field] || "";
  $("f-practices").value = (p.practices || []).join("; ");
  $("f-area").value = p.reported_area_ha ?? "";
  $("form-title").textContent = "Edit activity";
  setGeometry(null, "Keeps its polygon unless you draw or upload a new one.");
  zoomTo(feature);
}

function resetForm() {
  state.editing = null;
  $("activity-form").reset();
  $("form-title").textContent = "New activity";
  stopDrawing();
  setGeometry(null, "No polygon yet.");
}

function formProperties(forPatch) {
  const props = {};
  for (const [field, id] of Object.entries(FIELDS)) {
    const value = $(id).value.trim();
    if (value || forPatch) props[field] = value || null;
  }
  props.site = $("f-site").value.trim();
  const practices = $("f-practices").value.split(/[;,\s]+/).filter(Boolean);
  if (practices.length || forPatch) props.practices = practices;
  const reported = $("f-area").value.trim();
  if (reported || forPatch) props.reported_area_ha = reported ? Number(reported) : null;
  return props;
}

async function saveActivity(event) {
  event.preventDefault();
  if (!token()) { say("Enter a token first (an editor's).", true); return; }
  const editing = state.editing;
  if (!editing && !state.geometry) { say("Draw or upload a polygon first.", true); return; }
  const feature = { type: "Feature", properties: formProperties(Boolean(editing)) };
  if (state.geometry) feature.geometry = state.geometry;
  const options = { body: JSON.stringify(feature), headers: { "Content-Type": "application/geo+json" } };
  let saved;
  if (editing) {
    options.headers["If-Match"] = etagOf(editing);
    saved = await api(`${ITEMS}/${encodeURIComponent(editing.id)}`, Object.assign({ method: "PATCH" }, options));
  } else {
    saved = await api(ITEMS, Object.assign({ method: "POST" }, options));
  }
  const p = saved.body.properties;
  resetForm();
  say(`Saved ${p.name} (version ${p.version}, ${area(p.computed_area_ha)} ha).`);
  await loadActivities();
}

// Drawing: click the map to add corners, then "Finish polygon".
function startDrawing() {
  state.drawing = { points: [], line: L.polyline([], { color: "#d0f" }).addTo(map) };
  $("draw-finish").disabled = false;
  $("map").style.cursor = "crosshair";
  say("Click the map to add corners, then Finish polygon.");
}

function stopDrawing() {
  if (state.drawing) state.drawing.line.remove();
  state.drawing = null;
  $("draw-finish").disabled = true;
  $("map").style.cursor = "";
}

function finishDrawing() {
  const points = state.drawing ? state.drawing.points : [];
  stopDrawing();
  if (points.length < 3) { say("A polygon needs at least 3 corners.", true); return; }
  const ring = points.map((p) => [p.lng, p.lat]);
  ring.push(ring[0]);
  setGeometry({ type: "Polygon", coordinates: [ring] }, `Drawn polygon, ${points.length} corners.`);
  say("");
}

map.on("click", (event) => {
  if (!state.drawing) return;
  state.drawing.points.push(event.latlng);
  state.drawing.line.setLatLngs(state.drawing.points);
});

function polygonOf(data) {
  const geometries = [];
  const visit = (obj) => {
    if (!obj) return;
    if (obj.type === "FeatureCollection") obj.features.forEach(visit);
    else if (obj.type === "Feature") visit(obj.geometry);
    else if (obj.type === "Polygon") geometries.push(obj.coordinates);
    else if (obj.type === "MultiPolygon") geometries.push(...obj.coordinates);
  };
  visit(data);
  if (!geometries.length) throw new Error("the file holds no polygon");
  if (geometries.length === 1) return { type: "Polygon", coordinates: geometries[0] };
  return { type: "MultiPolygon", coordinates: geometries };
}

async function uploadGeometry() {
  const file = $("f-file").files[0];
  if (!file) return;
  if (file.size > 1500000) throw new Error("the file is over 1.5 MB");
  const geometry = polygonOf(JSON.parse(await file.text()));
  setGeometry(geometry, `Polygon from ${file.name}.`);
  map.fitBounds(draftLayer.getBounds(), { maxZoom: 14 });
  say("");
}

// ---- wiring -------------------------------------------------------------------------------------
function guard(fn) { return (event) => fn(event).catch((err) => say(err.message, true)); }

$("token-form").addEventListener("submit", guard(async (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  $("token").value = "";
  say("Token kept for this tab.");
  await loadActivities();
}));
$("token-clear").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); say("Token forgotten."); });
$("filters").addEventListener("submit", guard(async (event) => { event.preventDefault(); await loadActivities(); }));
$("activity-form").addEventListener("submit", guard(saveActivity));
$("form-reset").addEventListener("click", resetForm);
$("draw").addEventListener("click", startDrawing);
$("draw-finish").addEventListener("click", finishDrawing);
$("f-file").addEventListener("change", guard(uploadGeometry));

guard(async () => {
  await loadActivities();
  await loadOverlays();
  document.body.setAttribute("data-ready", "yes");
})();
