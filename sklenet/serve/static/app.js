// The drawing page of `sklenet serve`: draw, POST the canvas as a PNG to
// /predict, show the probabilities and the 28x28 image the model saw (the
// server's mnist_preprocess, returned as "pixels"). No external scripts.
"use strict";

const pad = document.getElementById("pad");
const ctx = pad.getContext("2d");
const preview = document.getElementById("preview").getContext("2d");
const bars = document.getElementById("bars");
const topClass = document.getElementById("top-class");
const topProbability = document.getElementById("top-probability");
const message = document.getElementById("message");
const penWidth = document.getElementById("pen-width");

let drawing = false;
let last = null;
let inked = false;
let sequence = 0;      // of the requests sent; stale answers are dropped
let shown = 0;         // the sequence number of the answer on display
let timer = null;
const THROTTLE_MS = 200;

function blank() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
  preview.fillStyle = "#000";
  preview.fillRect(0, 0, 28, 28);
  inked = false;
}

function point(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width,
          (event.clientY - box.top) * pad.height / box.height];
}

function stroke(from, to) {
  ctx.strokeStyle = "#000";
  ctx.fillStyle = "#000";
  ctx.lineWidth = Number(penWidth.value);
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(from[0], from[1]);
  ctx.lineTo(to[0], to[1]);
  ctx.stroke();
  inked = true;
}

// Pointer events: mouse, touch and pen alike.
pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  drawing = true;
  last = point(event);
  stroke(last, last);
  schedule();
});
pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const each of (events.length ? events : [event])) {
    const next = point(each);
    stroke(last, next);
    last = next;
  }
  schedule();
});
for (const type of ["pointerup", "pointercancel"]) {
  pad.addEventListener(type, () => {
    if (!drawing) return;
    drawing = false;
    clearTimeout(timer);
    timer = null;
    predict();
  });
}

function schedule() {  // live predictions while drawing, at most every THROTTLE_MS
  if (timer === null) {
    timer = setTimeout(() => { timer = null; predict(); }, THROTTLE_MS);
  }
}

function pending(delta) {
  document.body.dataset.pending = String(Number(document.body.dataset.pending) + delta);
}

async function predict() {
  if (!inked) return;
  const mine = ++sequence;
  pending(1);
  try {
    const response = await fetch("/predict", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({image: pad.toDataURL("image/png")}),
    });
    // A 503 over the connection limit comes from uvicorn, as plain text.
    const answer = await response.json().catch(() => ({}));
    if (mine <= shown) return;
    shown = mine;
    if (!response.ok) {
      message.textContent = answer.error || `error ${response.status}`;
      return;
    }
    message.textContent = "";
    show(answer.probabilities[0], answer.labels[0], answer.pixels[0]);
    document.body.dataset.answered = String(mine);
  } catch (error) {
    message.textContent = `The server did not answer: ${error}`;
  } finally {
    pending(-1);
  }
}

function show(probabilities, label, pixels) {
  const best = probabilities.indexOf(Math.max(...probabilities));
  topClass.textContent = String(label);
  topProbability.textContent = `(${(100 * probabilities[best]).toFixed(1)} %)`;
  bars.querySelectorAll("li").forEach((item, index) => {
    const p = probabilities[index];
    item.classList.toggle("top", index === best);
    item.querySelector(".bar").style.width = `${(100 * p).toFixed(1)}%`;
    item.querySelector(".value").textContent = p.toFixed(3);
    item.dataset.probability = String(p);
  });
  const image = preview.createImageData(28, 28);
  pixels.forEach((grey, i) => {
    image.data.set([grey, grey, grey, 255], 4 * i);
  });
  preview.putImageData(image, 0, 0);
}

function reset() {
  sequence += 1;
  shown = sequence;  // answers to strokes before the clear are dropped
  clearTimeout(timer);
  timer = null;
  blank();
  topClass.textContent = "\u2013";
  topProbability.textContent = "";
  message.textContent = "";
  bars.querySelectorAll("li").forEach((item) => {
    item.classList.remove("top");
    item.querySelector(".bar").style.width = "0";
    item.querySelector(".value").textContent = "";
    item.dataset.probability = "0";
  });
}

document.getElementById("clear").addEventListener("click", reset);

async function describe() {
  const info = document.getElementById("model-info");
  try {
    const model = await (await fetch("/model")).json();
    for (const label of model.classes) {
      const item = document.createElement("li");
      item.dataset.probability = "0";
      item.innerHTML = '<span class="label"></span><span class="track">' +
        '<span class="bar"></span></span><span class="value"></span>';
      item.querySelector(".label").textContent = String(label);
      bars.appendChild(item);
    }
    const accuracy = model.test_accuracy === null ? "test accuracy unknown"
      : `test accuracy ${model.test_accuracy.toFixed(4)}`;
    info.textContent = `${model.name} (${model.estimator}, ${model.runtime}): ` +
      `classes ${model.classes.join(", ")}; ${accuracy}.`;
    document.body.dataset.ready = "true";
  } catch (error) {
    info.textContent = `The model could not be described: ${error}`;
  }
}

blank();
describe();
