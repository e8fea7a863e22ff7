/* Interactive figures of the book: plain JavaScript, no libraries, no requests.

   A chapter stores an mtl_helpers.InteractiveFigure as HTML: a
   <div class="mtl-interactive"> holding the figure's data as
   <script type="application/json" class="mtl-interactive__data"> and a
   sentence for readers without JavaScript (.mtl-interactive__fallback). This
   script replaces that sentence with the controls and an SVG line chart:

   - a checkbox per line (the legend), a <select> per category control and a
     range slider per numeric control, each a native form element with a
     <label>, so the keyboard works as everywhere else;
   - axes with ticks and labels, lines with points, an optional shaded band;
   - a status line (aria-live) that says what is shown; the SVG has
     role="img" and an aria-label saying the same;
   - colours from CSS variables in book.css (.mtl-interactive), which switch
     with the theme (html[data-theme="dark"]).

   The chart is redrawn on every change and when the window is resized. The
   y axis fits the rows of the chosen menu values over every slider position
   and every line, so moving a slider or hiding a line does not rescale it.
   The data format is documented in mtl_helpers/interactive.py (spec()). */
(function () {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";
  const FORMAT_VERSION = 1;
  const MARGIN = { top: 12, right: 18, bottom: 46 };
  /* Lines that share a colour (more lines than the palette has colours) differ by marker. */
  const MARKERS = ["circle", "square", "triangle", "diamond"];

  /* The SVG path of a marker of radius r centred at (cx, cy); null for a circle. */
  function markerPath(shape, cx, cy, r) {
    const f = (v) => v.toFixed(1);
    if (shape === "square") return `M${f(cx - r)},${f(cy - r)}h${f(2 * r)}v${f(2 * r)}h${f(-2 * r)}Z`;
    if (shape === "triangle") {
      return `M${f(cx)},${f(cy - 1.2 * r)}L${f(cx + 1.1 * r)},${f(cy + 0.8 * r)}L${f(cx - 1.1 * r)},${f(cy + 0.8 * r)}Z`;
    }
    if (shape === "diamond") {
      return `M${f(cx)},${f(cy - 1.3 * r)}L${f(cx + 1.3 * r)},${f(cy)}L${f(cx)},${f(cy + 1.3 * r)}L${f(cx - 1.3 * r)},${f(cy)}Z`;
    }
    return null;
  }

  /* A marker at (cx, cy) in the given colour: a circle, or a path for the other shapes. */
  function drawMarker(shape, cx, cy, r, color, className, parent) {
    const d = markerPath(shape, cx, cy, r);
    if (d === null) {
      const circle = { cx: cx.toFixed(1), cy: cy.toFixed(1), r: String(r), class: className, style: `fill: ${color}` };
      return svgElement("circle", circle, parent);
    }
    return svgElement("path", { d, class: className, style: `fill: ${color}` }, parent);
  }

  function element(tag, attributes, parent) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    if (parent) parent.appendChild(node);
    return node;
  }

  function svgElement(tag, attributes, parent) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    if (parent) parent.appendChild(node);
    return node;
  }

  /* A number for a tick or a summary: at most 4 significant digits. */
  function format(value) {
    if (value === 0) return "0";
    const size = Math.abs(value);
    if (size >= 1e5 || size < 1e-3) return value.toExponential(1).replace("e+", "e");
    return String(Number(value.toPrecision(4)));
  }

  /* About `count` round ticks (1, 2 or 5 times a power of ten) in [low, high]. */
  function linearTicks(low, high, count) {
    const raw = (high - low) / Math.max(1, count);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((f) => f * power).find((s) => s >= raw) || 10 * power;
    const ticks = [];
    for (let tick = Math.ceil(low / step) * step; tick <= high + step * 1e-9; tick += step) {
      ticks.push(Math.abs(tick) < step * 1e-9 ? 0 : Number(tick.toPrecision(12)));
    }
    return ticks;
  }

  /* Powers of ten in [low, high]; with fewer than three, also 2 and 5 times them. */
  function logTicks(low, high) {
    const ticks = [];
    const first = Math.floor(Math.log10(low));
    const last = Math.ceil(Math.log10(high));
    for (const factors of [[1], [1, 2, 5], [1, 1.5, 2, 3, 5, 7]]) {
      ticks.length = 0;
      for (let power = first; power <= last; power++) {
        for (const factor of factors) {
          const tick = Number((factor * Math.pow(10, power)).toPrecision(12));
          if (tick >= low * (1 - 1e-9) && tick <= high * (1 + 1e-9)) ticks.push(tick);
        }
      }
      if (ticks.length >= 3) break;
    }
    return ticks;
  }

  /* The domain of `values` with a little room, and a function from data to pixels. */
  function makeScale(values, log, start, end) {
    let low = Math.min(...values);
    let high = Math.max(...values);
    if (log) {
      low = Math.log10(low);
      high = Math.log10(high);
    }
    if (high - low < 1e-12) {
      const pad = log ? 0.5 : Math.abs(low) * 0.1 || 1;
      low -= pad;
      high += pad;
    }
    const room = (high - low) * 0.05;
    low -= room;
    high += room;
    const toPixel = (value) => start + ((log ? Math.log10(value) : value) - low) / (high - low) * (end - start);
    const domain = log ? [Math.pow(10, low), Math.pow(10, high)] : [low, high];
    return { toPixel, domain, log };
  }

  class Figure {
    constructor(root) {
      this.root = root;
      this.spec = JSON.parse(root.querySelector("script.mtl-interactive__data").textContent);
      if (this.spec.version !== FORMAT_VERSION) {
        throw new Error(`interactive figure ${root.id}: data format ${this.spec.version}, expected ${FORMAT_VERSION}`);
      }
      this.id = root.id || "mtl-interactive";
      this.lineOn = this.spec.line.values.map(() => true);
      this.choice = this.spec.controls.map((control) => control.initial);
      this.nControls = this.spec.controls.length;
      this.numberTitle();
      this.build();
      this.render();
    }

    /* "Explore the figure above" becomes "Explore Fig. 7", from the static figure's caption. */
    numberTitle() {
      const target = document.getElementById(this.spec.explores);
      const number = target && target.querySelector(".caption-number");
      const label = number ? number.textContent.trim() : "the figure above";
      for (const link of this.root.querySelectorAll(`a[href="#${this.spec.explores}"]`)) link.textContent = label;
      this.figureLabel = label;
    }

    build() {
      const fallback = this.root.querySelector(".mtl-interactive__fallback");
      if (fallback) fallback.remove();
      const panel = element("div", { class: "mtl-interactive__controls" }, this.root);
      this.controls = this.spec.controls.map((control, index) => this.buildControl(control, index, panel));
      const lines = element("fieldset", { class: "mtl-interactive__lines" }, this.root);
      element("legend", { text: `${this.spec.line.label}:` }, lines);
      this.checkboxes = this.spec.line.values.map((value, index) => {
        const id = `${this.id}-line-${index}`;
        const label = element("label", { class: "mtl-interactive__line", for: id }, lines);
        const box = element("input", { type: "checkbox", id }, label);
        box.checked = true;
        element("span", {
          class: "mtl-interactive__swatch",
          style: `--mtl-swatch: var(--mtl-line-${this.spec.line.colors[index]})`,
          "aria-hidden": "true",
        }, label);
        const key = svgElement("svg", {
          class: "mtl-interactive__marker", width: "12", height: "12", viewBox: "0 0 12 12", "aria-hidden": "true",
        }, label);
        const swatch = `var(--mtl-line-${this.spec.line.colors[index]})`;
        drawMarker(this.markerOf(index), 6, 6, 4, swatch, "mtl-interactive__key", key);
        element("span", { class: "mtl-interactive__line-name", text: value }, label);
        box.addEventListener("change", () => {
          this.lineOn[index] = box.checked;
          this.render();
        });
        return box;
      });
      this.chart = element("div", { class: "mtl-interactive__chart" }, this.root);
      this.status = element("p", { class: "mtl-interactive__status", role: "status", "aria-live": "polite" }, this.root);
    }

    buildControl(control, index, panel) {
      const id = `${this.id}-control-${index}`;
      const row = element("div", { class: "mtl-interactive__control" }, panel);
      element("label", { for: id, text: control.label }, row);
      if (control.kind === "range") {
        const input = element("input", {
          type: "range", id, min: "0", max: String(control.values.length - 1), step: "1",
          value: String(control.initial),
        }, row);
        const shown = element("output", { for: id, class: "mtl-interactive__value" }, row);
        const update = () => {
          this.choice[index] = Number(input.value);
          shown.textContent = control.values[this.choice[index]];
          input.setAttribute("aria-valuetext", `${control.label} = ${control.values[this.choice[index]]}`);
        };
        update();
        input.addEventListener("input", () => {
          update();
          this.render();
        });
        return input;
      }
      const select = element("select", { id }, row);
      control.values.forEach((value, k) => {
        const option = element("option", { value: String(k), text: value }, select);
        if (k === control.initial) option.selected = true;
      });
      select.addEventListener("change", () => {
        this.choice[index] = Number(select.value);
        this.render();
      });
      return select;
    }

    /* Points of line `line` for the current choice of every control, sorted by x; with
       sort_x false (a front whose x is measured) in the stored order, which is the frame's. */
    pointsOf(line) {
      const points = this.spec.points
        .filter((p) => p[2] === line && this.choice.every((c, k) => p[3 + k] === c));
      return this.spec.sort_x === false ? points : points.sort((a, b) => a[0] - b[0]);
    }

    /* The rows that set the axes: every line, the chosen menu values, every slider position. */
    domainPoints() {
      return this.spec.points.filter((p) =>
        this.spec.controls.every((control, k) => control.kind === "range" || p[3 + k] === this.choice[k]));
    }

    render() {
      const spec = this.spec;
      const width = Math.max(280, Math.floor(this.chart.clientWidth || this.root.clientWidth || 600));
      const height = Math.round(Math.min(380, Math.max(230, width * 0.55)));
      const basis = this.domainPoints();
      const band = spec.band ? 3 + this.nControls : -1;
      // On a log axis the bands may reach down to zero: the axis stops at a third of the lowest point.
      const lowest = Math.min(...basis.map((p) => p[1]));
      const yValues = basis.flatMap((p) => (band >= 0 ? [p[1], p[band], p[band + 1]] : [p[1]]))
        .map((v) => (spec.y.log ? Math.max(v, lowest / 3) : v));
      const xValues = spec.points.map((p) => p[0]);
      const yLabels = (values) => values.map(format);
      const y = makeScale(yValues, spec.y.log, height - MARGIN.bottom, MARGIN.top);
      const yTicks = spec.y.log ? logTicks(...y.domain) : linearTicks(...y.domain, 5);
      const left = 22 + 7 * Math.max(...yLabels(yTicks).map((t) => t.length), 1) + 10;
      const xRange = spec.x.invert ? [width - MARGIN.right, left] : [left, width - MARGIN.right];
      const x = makeScale(xValues, spec.x.log, ...xRange);
      const xTicks = spec.x.log ? logTicks(...x.domain) : linearTicks(...x.domain, Math.max(3, Math.floor(width / 110)));

      const svg = svgElement("svg", {
        class: "mtl-interactive__svg", role: "img", width: String(width), height: String(height),
        viewBox: `0 0 ${width} ${height}`,
      });
      const summary = this.summary();
      svg.setAttribute("aria-label", `${spec.title}. ${summary}`);
      svgElement("title", { text: `${spec.title}. ${summary}` }, svg);

      const grid = svgElement("g", { class: "mtl-interactive__grid" }, svg);
      const axis = svgElement("g", { class: "mtl-interactive__axis" }, svg);
      const bottom = height - MARGIN.bottom;
      for (const tick of yTicks) {
        const py = y.toPixel(tick);
        svgElement("line", { x1: left, x2: width - MARGIN.right, y1: py, y2: py }, grid);
        svgElement("text", { x: left - 6, y: py, "text-anchor": "end", "dominant-baseline": "middle", text: format(tick) }, axis);
      }
      for (const tick of xTicks) {
        const px = x.toPixel(tick);
        svgElement("line", { x1: px, x2: px, y1: MARGIN.top, y2: bottom }, grid);
        svgElement("text", { x: px, y: bottom + 16, "text-anchor": "middle", text: format(tick) }, axis);
      }
      svgElement("line", { class: "mtl-interactive__frame", x1: left, x2: width - MARGIN.right, y1: bottom, y2: bottom }, axis);
      svgElement("line", { class: "mtl-interactive__frame", x1: left, x2: left, y1: MARGIN.top, y2: bottom }, axis);
      svgElement("text", { x: (left + width - MARGIN.right) / 2, y: height - 8, "text-anchor": "middle",
        class: "mtl-interactive__label", text: spec.x.label }, axis);
      const midY = (MARGIN.top + bottom) / 2;
      svgElement("text", { x: 14, y: midY, transform: `rotate(-90 14 ${midY})`, "text-anchor": "middle",
        class: "mtl-interactive__label", text: spec.y.label }, axis);

      const floor = y.domain[0];
      const clampY = (v) => y.toPixel(spec.y.log ? Math.max(v, floor) : v);
      const plot = svgElement("g", { class: "mtl-interactive__plot" }, svg);
      spec.line.values.forEach((name, line) => {
        if (!this.lineOn[line]) return;
        const points = this.pointsOf(line);
        if (!points.length) return;
        const color = `var(--mtl-line-${spec.line.colors[line]})`;
        const group = svgElement("g", { "data-line": name }, plot);
        if (band >= 0) {
          const upper = points.map((p) => `${x.toPixel(p[0]).toFixed(1)},${clampY(p[band + 1]).toFixed(1)}`);
          const lower = points.slice().reverse().map((p) => `${x.toPixel(p[0]).toFixed(1)},${clampY(p[band]).toFixed(1)}`);
          const shape = points.length > 1 ? `M${upper.join("L")}L${lower.join("L")}Z` : "";
          if (shape) svgElement("path", { class: "mtl-interactive__band", d: shape, style: `fill: ${color}` }, group);
          if (points.length === 1) {
            const px = x.toPixel(points[0][0]).toFixed(1);
            svgElement("path", { class: "mtl-interactive__whisker", style: `stroke: ${color}`,
              d: `M${px},${clampY(points[0][band]).toFixed(1)}L${px},${clampY(points[0][band + 1]).toFixed(1)}` }, group);
          }
        }
        const path = points.map((p, k) => `${k ? "L" : "M"}${x.toPixel(p[0]).toFixed(1)},${y.toPixel(p[1]).toFixed(1)}`);
        svgElement("path", { class: "mtl-interactive__line-path", d: path.join(""), style: `stroke: ${color}` }, group);
        for (const p of points) {
          const [px, py] = [x.toPixel(p[0]), y.toPixel(p[1])];
          const dot = drawMarker(this.markerOf(line), px, py, 3.5, color, "mtl-interactive__point", group);
          const interval = band >= 0 ? ` (${format(p[band])} to ${format(p[band + 1])})` : "";
          svgElement("title", { text: `${name}: ${spec.x.label} ${format(p[0])}, ${spec.y.label} ${format(p[1])}${interval}` }, dot);
        }
      });
      this.chart.replaceChildren(svg);
      this.status.textContent = summary;
      this.checkboxes.forEach((box, line) => {
        const empty = !this.pointsOf(line).length;
        box.parentElement.classList.toggle("mtl-interactive__line--empty", empty);
        box.parentElement.title = empty ? "no results for this choice" : "";
      });
    }

    /* The marker of a line: the first line of each colour gets circles, the next squares, ... */
    markerOf(line) {
      const colors = this.spec.line.colors;
      const earlier = colors.slice(0, line).filter((color) => color === colors[line]).length;
      return MARKERS[earlier % MARKERS.length];
    }

    /* One sentence on what the chart shows now, for the status line and the SVG's label. */
    summary() {
      const spec = this.spec;
      const chosen = spec.controls.map((control, k) => `${control.label} = ${control.values[this.choice[k]]}`);
      const shown = [];
      const empty = [];
      spec.line.values.forEach((name, line) => {
        if (!this.lineOn[line]) return;
        const points = this.pointsOf(line);
        if (!points.length) {
          empty.push(name);
          return;
        }
        const ys = points.map((p) => p[1]);
        if (points.length === 1) shown.push(`${name} (one point, ${format(points[0][0])}, ${format(ys[0])})`);
        else shown.push(`${name} (${points.length} points, ${format(Math.min(...ys))} to ${format(Math.max(...ys))})`);
      });
      let text = `${spec.y.label} against ${spec.x.label}`;
      if (chosen.length) text += `, for ${chosen.join(" and ")}`;
      text += shown.length ? `: ${shown.join("; ")}.` : ": no line is shown.";
      if (empty.length) text += ` No results for ${empty.join(", ")} with this choice.`;
      return text;
    }
  }

  function start() {
    const figures = [];
    for (const root of document.querySelectorAll(".mtl-interactive")) {
      if (root.dataset.mtlReady) continue;
      try {
        figures.push(new Figure(root));
        root.dataset.mtlReady = "true";
      } catch (error) {
        console.error(error);
      }
    }
    let pending = false;
    window.addEventListener("resize", () => {
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(() => {
        pending = false;
        figures.forEach((figure) => figure.render());
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
