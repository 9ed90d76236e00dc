// The signature pad of the delivery and collection receipts (no inline script: CSP). Each
// [data-signature-pad] holds a canvas and a hidden input; pointer events (finger, pen or mouse)
// draw strokes, kept as whole-number points in the canvas's own 1000 × 400 box and posted as
// JSON: [[x0, y0, x1, y1, …], …]. The server checks the shape and size again (signature.py).
(function () {
  "use strict";

  var MAX_POINTS = 4800;

  function setUp(pad) {
    var canvas = pad.querySelector("[data-signature-canvas]");
    var input = pad.querySelector("[data-signature-input]");
    var clear = pad.querySelector("[data-signature-clear]");
    if (!canvas || !input || !canvas.getContext) { return; }
    var context = canvas.getContext("2d");
    var width = canvas.width;
    var height = canvas.height;
    var strokes = [];
    var current = null;
    var points = 0;

    try {
      var saved = JSON.parse(input.value || "[]");
      if (Array.isArray(saved)) { strokes = saved; }
    } catch (error) {
      strokes = [];
    }
    strokes.forEach(function (stroke) { points += stroke.length / 2; });

    function draw(stroke) {
      if (!Array.isArray(stroke) || stroke.length < 2) { return; }
      context.beginPath();
      context.moveTo(stroke[0], stroke[1]);
      if (stroke.length === 2) { context.lineTo(stroke[0] + 1, stroke[1]); }
      for (var i = 2; i + 1 < stroke.length; i += 2) { context.lineTo(stroke[i], stroke[i + 1]); }
      context.stroke();
    }

    function redraw() {
      context.clearRect(0, 0, width, height);
      context.lineWidth = 5;
      context.lineCap = "round";
      context.lineJoin = "round";
      context.strokeStyle = "#111";
      strokes.forEach(draw);
    }

    function at(event) {
      var box = canvas.getBoundingClientRect();
      var x = Math.round(((event.clientX - box.left) * width) / (box.width || 1));
      var y = Math.round(((event.clientY - box.top) * height) / (box.height || 1));
      return [Math.min(width, Math.max(0, x)), Math.min(height, Math.max(0, y))];
    }

    function save() {
      input.value = strokes.length ? JSON.stringify(strokes) : "";
    }

    canvas.addEventListener("pointerdown", function (event) {
      if (points >= MAX_POINTS) { return; }
      event.preventDefault();
      if (canvas.setPointerCapture) { canvas.setPointerCapture(event.pointerId); }
      current = at(event);
      points += 1;
      strokes.push(current);
      redraw();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!current || points >= MAX_POINTS) { return; }
      event.preventDefault();
      var point = at(event);
      var n = current.length;
      if (current[n - 2] === point[0] && current[n - 1] === point[1]) { return; }
      current.push(point[0], point[1]);
      points += 1;
      redraw();
    });
    function end() {
      if (current) {
        current = null;
        save();
      }
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    if (clear) {
      clear.addEventListener("click", function () {
        strokes = [];
        points = 0;
        current = null;
        save();
        redraw();
      });
    }
    redraw();
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-signature-pad]"), setUp);
  });
})();
