/* tinylens report widgets: dependency-free SVG charts, inlined into every report so it opens
 * offline from file://. Each widget is a <div class="tl-widget" data-kind="..."> followed by a
 * <script type="application/json"> holding its data. Kinds: frames-chart (lines over a shared x
 * axis, one set per frame, with a slider), regions-map (polygons with hover), regions-frames (a
 * regions map per frame, with a slider), circuit (a layered network with its weights). */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var PALETTE = ["#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951", "#ff8ab7", "#a463f2",
                 "#97bbf5", "#9c6b4e", "#9498a0"];

  function el(tag, attrs, parent) {
    var node = document.createElementNS(NS, tag);
    for (var k in attrs) { if (attrs[k] !== undefined && attrs[k] !== null) node.setAttribute(k, attrs[k]); }
    if (parent) parent.appendChild(node);
    return node;
  }
  function html(tag, cls, parent, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }
  function linear(d0, d1, r0, r1) {
    var span = (d1 - d0) || 1;
    return function (v) { return r0 + (v - d0) * (r1 - r0) / span; };
  }
  function niceTicks(lo, hi, n) {
    if (!(hi > lo)) { return [lo]; }
    var raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw))), step = mag;
    [1, 2, 2.5, 5, 10].some(function (m) { step = m * mag; return raw <= step; });
    var out = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) { out.push(+t.toFixed(12)); }
    return out;
  }
  function num(v) {  // weights may be exact fractions written as "p/q"
    if (typeof v === "string" && v.indexOf("/") > 0) {
      var parts = v.split("/");
      return +parts[0] / +parts[1];
    }
    return +v;
  }
  function fmt(v) {
    if (typeof v !== "number" || !isFinite(v)) { return String(v); }
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) { return v.toExponential(2); }
    return String(+v.toPrecision(4));
  }
  function tooltip(container) {
    var tip = html("div", "tl-tip", container);
    tip.style.display = "none";
    return {
      show: function (text, evt) {
        tip.textContent = text;
        tip.style.display = "block";
        var box = container.getBoundingClientRect();
        tip.style.left = (evt.clientX - box.left + 14) + "px";
        tip.style.top = (evt.clientY - box.top + 10) + "px";
      },
      hide: function () { tip.style.display = "none"; }
    };
  }
  function hoverable(node, tip, text) {
    node.addEventListener("mousemove", function (e) { tip.show(text, e); });
    node.addEventListener("mouseleave", function () { tip.hide(); });
  }
  function axes(svg, sx, sy, xr, yr, m, w, h, xlabel, ylabel) {
    var g = el("g", { "class": "tl-axes" }, svg);
    niceTicks(yr[0], yr[1], 5).forEach(function (t) {
      el("line", { x1: m.l, x2: w - m.r, y1: sy(t), y2: sy(t), "class": "tl-grid" }, g);
      el("text", { x: m.l - 6, y: sy(t) + 4, "text-anchor": "end" }, g).textContent = fmt(t);
    });
    niceTicks(xr[0], xr[1], 6).forEach(function (t) {
      el("line", { x1: sx(t), x2: sx(t), y1: h - m.b, y2: h - m.b + 5, "class": "tl-tick" }, g);
      el("text", { x: sx(t), y: h - m.b + 18, "text-anchor": "middle" }, g).textContent = fmt(t);
    });
    el("rect", { x: m.l, y: m.t, width: w - m.l - m.r, height: h - m.t - m.b, "class": "tl-frame" }, g);
    if (xlabel) { el("text", { x: (m.l + w - m.r) / 2, y: h - 4, "text-anchor": "middle", "class": "tl-label" }, g).textContent = xlabel; }
    if (ylabel) {
      el("text", { x: 14, y: (m.t + h - m.b) / 2, "text-anchor": "middle", "class": "tl-label",
                   transform: "rotate(-90 14 " + (m.t + h - m.b) / 2 + ")" }, g).textContent = ylabel;
    }
  }
  function pathFor(xs, ys, sx, sy) {
    var d = "";
    for (var i = 0; i < xs.length; i++) {
      if (ys[i] === null || !isFinite(ys[i])) { continue; }
      d += (d ? "L" : "M") + sx(xs[i]).toFixed(1) + "," + sy(ys[i]).toFixed(1);
    }
    return d;
  }

  /* frames-chart: {title, x, xlabel, ylabel, ylim?, data?: {x, y}, initial?, frames: [{label,
   * info?, lines: [{name, y, kind: "main"|"ghost"|"partial"}], points?: [{x, y, tip}]}]} */
  function framesChart(root, spec) {
    var w = 760, h = 400, m = { l: 56, r: 16, t: 12, b: 42 };
    var frames = spec.frames, xs = spec.x;
    var lo = Infinity, hi = -Infinity;
    function grow(v) { if (v !== null && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }
    if (spec.ylim) { lo = spec.ylim[0]; hi = spec.ylim[1]; } else {
      frames.forEach(function (f) { f.lines.forEach(function (l) { l.y.forEach(grow); }); });
      if (spec.data) { spec.data.y.forEach(grow); }
      var pad = (hi - lo) * 0.05 || 1; lo -= pad; hi += pad;
    }
    var xr = [Math.min.apply(null, xs), Math.max.apply(null, xs)];
    var sx = linear(xr[0], xr[1], m.l, w - m.r), sy = linear(lo, hi, h - m.b, m.t);
    var box = html("div", "tl-chart", root);
    var svg = el("svg", { viewBox: "0 0 " + w + " " + h, width: "100%", "class": "tl-svg" }, box);
    axes(svg, sx, sy, xr, [lo, hi], m, w, h, spec.xlabel, spec.ylabel);
    var clip = "clip" + Math.random().toString(36).slice(2);
    el("rect", { x: m.l, y: m.t, width: w - m.l - m.r, height: h - m.t - m.b },
       el("clipPath", { id: clip }, el("defs", {}, svg)));
    var plot = el("g", { "clip-path": "url(#" + clip + ")" }, svg);
    if (spec.data) {
      var dg = el("g", { "class": "tl-data" }, plot);
      spec.data.x.forEach(function (x, i) { el("circle", { cx: sx(x), cy: sy(spec.data.y[i]), r: 2 }, dg); });
    }
    var lineGroup = el("g", {}, plot), pointGroup = el("g", {}, svg);
    var tip = tooltip(box);
    var label = frameControls(root, frames.length, function (i) { draw(i); });
    var legend = html("div", "tl-legend", root);
    var paths = [];
    function draw(i) {
      var f = frames[i];
      label.textContent = frameLabel(f);
      f.lines.forEach(function (line, j) {
        if (!paths[j]) { paths[j] = el("path", {}, lineGroup); }
        var kind = line.kind || "main";
        paths[j].setAttribute("class", "tl-line tl-" + kind);
        paths[j].setAttribute("data-name", line.name || "");
        if (kind === "ghost" || kind === "partial") {
          paths[j].style.stroke = PALETTE[(line.color !== undefined ? line.color : j) % PALETTE.length];
        }
        paths[j].setAttribute("d", pathFor(xs, line.y, sx, sy));
      });
      for (var j = f.lines.length; j < paths.length; j++) { paths[j].setAttribute("d", ""); }
      while (pointGroup.firstChild) { pointGroup.removeChild(pointGroup.firstChild); }
      (f.points || []).forEach(function (p, k) {
        if (p.x < xr[0] || p.x > xr[1] || p.y < lo || p.y > hi) { return; }
        var c = el("circle", { cx: sx(p.x), cy: sy(p.y), r: 5, "class": "tl-point" }, pointGroup);
        c.style.fill = PALETTE[(p.color !== undefined ? p.color : k) % PALETTE.length];
        hoverable(c, tip, p.tip);
      });
    }
    if (spec.legend) {
      spec.legend.forEach(function (item) {
        var s = html("span", "tl-legend-item tl-" + item.kind, legend, item.name);
        s.setAttribute("data-kind", item.kind);
      });
    }
    startAt(root, spec, frames.length);
  }

  function frameLabel(f) { return f.label + (f.info ? "  \u00B7  " + f.info : ""); }
  /* A play button, a slider over frames 0..n-1 and a label; draw(i) redraws frame i. Returns
   * the label element. startAt() then shows the initial frame (the last by default). */
  function frameControls(root, n, draw) {
    var controls = html("div", "tl-controls", root);
    var play = html("button", "tl-play", controls, "\u25B6");
    var slider = html("input", "tl-slider", controls);
    slider.type = "range"; slider.min = 0; slider.max = n - 1; slider.step = 1;
    var label = html("span", "tl-frame-label", controls);
    slider.addEventListener("input", function () { draw(+slider.value); });
    var timer = null;
    play.addEventListener("click", function () {
      if (timer) { clearInterval(timer); timer = null; play.textContent = "\u25B6"; return; }
      play.textContent = "\u23F8";
      timer = setInterval(function () {
        var next = (+slider.value + 1) % n;
        slider.value = next; draw(next);
        if (next === n - 1) { clearInterval(timer); timer = null; play.textContent = "\u25B6"; }
      }, 250);
    });
    root._tlShow = function (i) { slider.value = i; draw(i); };
    return label;
  }
  function startAt(root, spec, n) { root._tlShow(spec.initial !== undefined ? spec.initial : n - 1); }

  /* regions-map: {box: [x0, x1, y0, y1], xlabel, ylabel, regions: [{vertices: [[x, y]...], tip,
   * color?}], lines?: [[[x, y], [x, y]]...] (drawn on top: the decision boundary), anchors?:
   * [[x, y]...] (the inputs the slice passes through, as dots)} */
  function regionsCanvas(root, spec) {
    var size = 520, m = { l: 50, r: 12, t: 12, b: 40 };
    var b = spec.box, sx = linear(b[0], b[1], m.l, size - m.r), sy = linear(b[2], b[3], size - m.b, m.t);
    var box = html("div", "tl-chart", root);
    var svg = el("svg", { viewBox: "0 0 " + size + " " + size, width: "100%", "class": "tl-svg tl-square" }, box);
    axes(svg, sx, sy, [b[0], b[1]], [b[2], b[3]], m, size, size, spec.xlabel, spec.ylabel);
    var tip = tooltip(box), g = el("g", {}, svg), top = el("g", {}, svg);
    (spec.anchors || []).forEach(function (a) {
      el("circle", { cx: sx(a[0]), cy: sy(a[1]), r: 4, "class": "tl-anchor" }, top);
    });
    return function draw(regions, lines) {
      while (g.firstChild) { g.removeChild(g.firstChild); }
      regions.forEach(function (r, i) {
        var pts = r.vertices.map(function (v) { return sx(v[0]).toFixed(2) + "," + sy(v[1]).toFixed(2); }).join(" ");
        var poly = el("polygon", { points: pts, "class": "tl-region" }, g);
        poly.style.fill = PALETTE[(r.color !== undefined ? r.color : i) % PALETTE.length];
        hoverable(poly, tip, r.tip);
      });
      (lines || []).forEach(function (s) {
        el("line", { x1: sx(s[0][0]), y1: sy(s[0][1]), x2: sx(s[1][0]), y2: sy(s[1][1]), "class": "tl-boundary" }, g);
      });
    };
  }
  function regionsMap(root, spec) { regionsCanvas(root, spec)(spec.regions, spec.lines); }

  /* regions-frames: {box, xlabel, ylabel, anchors?, initial?, frames: [{label, info?, regions,
   * lines?}]}: one regions map per frame (e.g. the plane at each epoch), with a slider. */
  function regionsFrames(root, spec) {
    var draw = regionsCanvas(root, spec), frames = spec.frames;
    var label = frameControls(root, frames.length, function (i) {
      label.textContent = frameLabel(frames[i]);
      draw(frames[i].regions, frames[i].lines);
    });
    startAt(root, spec, frames.length);
  }

  /* circuit: {input_names, layers: [{weight: [[...]], bias: [...], activation}], title?} */
  function circuit(root, spec) {
    var sizes = [spec.layers[0].weight[0].length].concat(spec.layers.map(function (l) { return l.bias.length; }));
    var colW = 150, rowH = 62, m = 34;
    var maxRows = Math.max.apply(null, sizes);
    var w = m * 2 + colW * (sizes.length - 1), h = m * 2 + rowH * (maxRows - 1) + 20;
    var box = html("div", "tl-chart tl-circuit", root);
    var svg = el("svg", { viewBox: "0 0 " + w + " " + h, width: "100%", "class": "tl-svg" }, box);
    svg.style.maxWidth = Math.min(w * 1.25, 800) + "px";  // small nets stay small; wide ones fit
    var tip = tooltip(box);
    function pos(layer, i) {
      var n = sizes[layer], top = m + (maxRows - n) * rowH / 2;
      return [m + layer * colW, top + i * rowH + 10];
    }
    var edges = el("g", {}, svg), nodes = el("g", {}, svg);
    spec.layers.forEach(function (layer, li) {
      layer.weight.forEach(function (row, j) {
        row.forEach(function (wv, i) {
          var val = num(wv);
          if (val === 0) { return; }
          var a = pos(li, i), c = pos(li + 1, j);
          var line = el("line", { x1: a[0], y1: a[1], x2: c[0], y2: c[1],
                                  "class": "tl-edge " + (val >= 0 ? "tl-pos" : "tl-neg") }, edges);
          line.style.strokeWidth = Math.min(1 + Math.abs(val) * 1.2, 6);
          // Stagger labels by target so labels of edges leaving one node do not overlap.
          var t = 0.3 + 0.4 * (j + 0.5) / layer.weight.length;
          var lx = a[0] + (c[0] - a[0]) * t, ly = a[1] + (c[1] - a[1]) * t;
          var lab = el("text", { x: lx, y: ly - 3, "class": "tl-weight", "text-anchor": "middle" }, edges);
          lab.textContent = String(wv);
          hoverable(line, tip, "W" + (li + 1) + "[" + j + "][" + i + "] = " + wv);
        });
      });
    });
    sizes.forEach(function (n, li) {
      for (var i = 0; i < n; i++) {
        var p = pos(li, i), g = el("g", {}, nodes);
        el("circle", { cx: p[0], cy: p[1], r: 15, "class": li === 0 ? "tl-node tl-input" : "tl-node" }, g);
        var text = el("text", { x: p[0], y: p[1] + 4, "text-anchor": "middle", "class": "tl-node-label" }, g);
        if (li === 0) {
          text.textContent = (spec.input_names || [])[i] || ("x" + (i + 1));
          hoverable(g, tip, "input " + text.textContent);
        } else {
          var layer = spec.layers[li - 1];
          text.textContent = layer.activation === "relu" ? "ReLU" : (layer.activation === "identity" ? "\u03A3" : layer.activation);
          var bias = layer.bias[i];
          if (num(bias) !== 0) {
            el("text", { x: p[0], y: p[1] + 30, "text-anchor": "middle", "class": "tl-bias" }, g).textContent = "b=" + bias;
          }
          hoverable(g, tip, "layer " + li + ", unit " + i + ": " + layer.activation + ", bias " + bias);
        }
      }
    });
  }

  /* basis: the schema tinylens.basis_frames/1 written by the basis study (docs/geometry.md):
   * {x, target_y, data: {x, y}, ylim, frames: [{epoch, loss, b_out, output, slopes, biases,
   * kinks, importances, active_side, dead_on_data, ghosts}]}. Drawn as a frames chart: the
   * network, each neuron's ghost, the target, and a hoverable marker at every kink. */
  // active_side holds the neuron's side as a word (geometry.basis.ACTIVE_SIDES), not a sign.
  var SIDES = { right: "x > kink", left: "x < kink", always: "every x", never: "no x" };
  function basis(root, spec) {
    var frames = spec.frames.map(function (f) {
      var lines = [{ name: "network", y: f.output, kind: "main" }];
      if (spec.target_y) { lines.push({ name: "target", y: spec.target_y, kind: "target" }); }
      f.ghosts.forEach(function (g, h) { lines.push({ name: "neuron " + h, y: g, kind: "ghost", color: h }); });
      var points = [];
      f.kinks.forEach(function (k, h) {
        if (k === null) { return; }
        var side = SIDES[f.active_side[h]] || String(f.active_side[h]);
        points.push({ x: k, y: 0, color: h, tip: "neuron " + h + (f.dead_on_data[h] ? " (dead on the data)" : "") +
          "\nslope w_in = " + fmt(f.slopes[h]) + "\nkink -b/w = " + fmt(k) +
          "\nimportance w_out = " + fmt(f.importances[h]) + "\nactive for " + side });
      });
      return { label: "epoch " + f.epoch, info: "loss " + fmt(f.loss) + ", b_out " + fmt(f.b_out),
               lines: lines, points: points };
    });
    framesChart(root, { x: spec.x, xlabel: "x", ylabel: "y", ylim: spec.ylim, data: spec.data,
                        frames: frames, legend: [{ name: "network", kind: "main" },
                        { name: "target", kind: "target" }, { name: "neuron ghosts", kind: "ghost" },
                        { name: "data", kind: "data" }] });
  }

  var KINDS = { "frames-chart": framesChart, "regions-map": regionsMap,
                "regions-frames": regionsFrames, "circuit": circuit, "basis": basis };
  function init() {
    var widgets = document.querySelectorAll(".tl-widget");
    for (var i = 0; i < widgets.length; i++) {
      var root = widgets[i], kind = root.getAttribute("data-kind");
      var data = document.getElementById(root.getAttribute("data-spec"));
      if (!KINDS[kind] || !data) { root.textContent = "unknown widget " + kind; continue; }
      KINDS[kind](root, JSON.parse(data.textContent));
      root.setAttribute("data-ready", "1");
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
