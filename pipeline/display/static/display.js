// Live queue screens: one EventSource per page; the server sends only what this page may show.
// window.kcSeen[event_id] = ms when a car first appeared (the browser test measures latency).
"use strict";
const view = document.body.dataset.view;
const byId = (id) => document.getElementById(id);
window.kcSeen = {};
window.kcUpdates = 0;
let last = null;

const STATUS_LABEL = { matched: "", unregistered: "nicht registriert",
  needs_review: "wird geprüft" };

function minutesSince(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? "" : Math.max(0, Math.floor((Date.now() - t) / 60000));
}

function waitText(data) {
  if (!data.available || data.estimated_wait_min === undefined) return ["–", false];
  if (data.estimated_wait_min < 1) return ["Keine Wartezeit", true];
  return [`${data.estimated_wait_min} Min.`, false];
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (cls) td.className = cls;
  return td;
}

function renderWindow(data) {
  const rows = byId("rows");
  rows.replaceChildren();
  for (const car of data.cars || []) {
    const tr = document.createElement("tr");
    tr.className = `${car.status} ${car.at_window ? "at-window" : ""}`;
    tr.dataset.eventId = car.event_id || "";
    const who = car.display_name || car.plate || STATUS_LABEL[car.status] || "Kunde";
    const name = cell(who, "name");
    if (car.customer_number) {
      const num = document.createElement("div");
      num.className = "small";
      num.textContent = `Nr. ${car.customer_number}`;
      name.appendChild(num);
    }
    const state = cell(car.at_window ? "am Schalter" : "wartet");
    const id = document.createElement("div");
    id.className = "small";
    id.textContent = car.read_id || "";
    state.appendChild(id);
    tr.append(cell(car.position), name, cell(car.visit_reason || ""),
              cell(minutesSince(car.arrived_at), "minutes"), state);
    rows.appendChild(tr);
    if (car.event_id && !(car.event_id in window.kcSeen)) window.kcSeen[car.event_id] = Date.now();
  }
  byId("empty").style.display = (data.cars || []).length ? "none" : "block";
  byId("summary").textContent = data.available
    ? `${data.cars_in_loop} in der Schlange · Wartezeit ${waitText(data)[0]}` : "";
}

function renderEntrance(data) {
  const [text, none] = waitText(data);
  const wait = byId("wait");
  wait.textContent = text;
  wait.classList.toggle("none", none);
  byId("cars").textContent = data.available
    ? `${data.cars_in_loop} ${data.cars_in_loop === 1 ? "Fahrzeug" : "Fahrzeuge"} in der Schlange`
    : "";
}

function render(data) {
  last = data;
  byId("title").textContent = data.title || "Drive-in";
  if (view === "window") renderWindow(data); else renderEntrance(data);
  const status = byId("status");
  const stamp = data.updated_at ? new Date(data.updated_at).toLocaleTimeString("de-DE",
    { hour: "2-digit", minute: "2-digit" }) : "–";
  status.textContent = data.broker_connected ? `Stand ${stamp}`
    : "Verbindung zum Server unterbrochen – Anzeige ist nicht aktuell";
  status.classList.toggle("offline", !data.broker_connected);
  window.kcUpdates += 1;
}

function tick() {
  byId("clock").textContent = new Date().toLocaleTimeString("de-DE",
    { hour: "2-digit", minute: "2-digit" });
  if (view === "window") {
    for (const td of document.querySelectorAll("td.minutes")) {
      const car = (last && last.cars || []).find(
        (c) => c.event_id === td.parentElement.dataset.eventId);
      if (car) td.textContent = minutesSince(car.arrived_at);
    }
  }
}

const source = new EventSource(`/events/${view}`);
source.onmessage = (event) => render(JSON.parse(event.data));
source.onerror = () => {
  const status = byId("status");
  status.textContent = "Verbindung unterbrochen – verbinde neu …";
  status.classList.add("offline");
};
tick();
setInterval(tick, 5000);
