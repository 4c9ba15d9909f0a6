// Softmax with a temperature, computed in the browser: the view works on the static website
// with no kernel. State: logits (list of numbers), labels (list of strings), temperature.

function softmax(logits, temperature) {
  const scaled = logits.map((z) => z / temperature);
  const top = Math.max(...scaled); // subtracting the max keeps exp() from overflowing
  const exps = scaled.map((z) => Math.exp(z - top));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

function entropyBits(probs) {
  return -probs.reduce((h, p) => (p > 0 ? h + p * Math.log2(p) : h), 0);
}

// The slider moves on a log scale so that 0.1 and 10 are as easy to reach as 1.
const T_MIN = 0.05, T_MAX = 10;
const toSlider = (t) => Math.round((1000 * Math.log(t / T_MIN)) / Math.log(T_MAX / T_MIN));
const fromSlider = (v) => T_MIN * Math.pow(T_MAX / T_MIN, v / 1000);

function render({ model, el }) {
  el.classList.add("llm-card", "llm-softmax");
  el.innerHTML = `
    <div class="llm-softmax-controls">
      <label>temperature <i>T</i> = <b class="llm-softmax-t"></b>
        <input type="range" min="0" max="1000" step="1" class="llm-softmax-slider"
               aria-label="temperature"></label>
      <span class="llm-softmax-presets"></span>
    </div>
    <div class="llm-softmax-bars" role="list"></div>
    <div class="llm-softmax-summary" aria-live="polite"></div>`;
  const slider = el.querySelector(".llm-softmax-slider");
  const presets = el.querySelector(".llm-softmax-presets");
  for (const t of [0.1, 0.5, 1, 2, 10]) {
    presets.appendChild(button(`T = ${t}`, { temperature: t }, () => setTemperature(t)));
  }

  function setTemperature(t) {
    model.set("temperature", t);
    model.save_changes(); // a no-op without a kernel; keeps Python in sync inside Jupyter
    draw();
  }

  function draw() {
    const logits = model.get("logits");
    const labels = model.get("labels");
    const t = model.get("temperature");
    const probs = softmax(logits, t);
    slider.value = String(toSlider(t));
    for (const b of presets.querySelectorAll("button")) {
      setActive(b, Math.abs(Number(b.dataset.temperature) - t) < 1e-9, "llm-softmax-on");
    }
    el.querySelector(".llm-softmax-t").textContent = t.toFixed(2);
    const bars = el.querySelector(".llm-softmax-bars");
    bars.innerHTML = "";
    probs.forEach((p, i) => {
      const row = document.createElement("div");
      row.className = "llm-softmax-row";
      row.setAttribute("role", "listitem");
      row.title = `logit z = ${logits[i].toFixed(2)}, z/T = ${(logits[i] / t).toFixed(2)}, p = ${p.toFixed(4)}`;
      row.innerHTML = `<span class="llm-softmax-label"></span>
        <span class="llm-softmax-track"><span class="llm-softmax-fill"></span></span>
        <span class="llm-softmax-p"></span>`;
      row.querySelector(".llm-softmax-label").textContent = labels[i] ?? String(i);
      row.querySelector(".llm-softmax-fill").style.width = `${(100 * p).toFixed(1)}%`;
      row.querySelector(".llm-softmax-p").textContent = p.toFixed(3);
      bars.appendChild(row);
    });
    const best = probs.indexOf(Math.max(...probs));
    const h = entropyBits(probs), hMax = Math.log2(probs.length);
    el.querySelector(".llm-softmax-summary").textContent =
      `most likely: ${quoted(labels[best] ?? String(best))} with p = ${probs[best].toFixed(3)} · ` +
      `entropy ${h.toFixed(2)} of at most ${hMax.toFixed(2)} bits`;
  }

  slider.addEventListener("input", () => setTemperature(fromSlider(Number(slider.value))));
  model.on("change:temperature", draw);
  model.on("change:logits", draw);
  draw();
}

export default { render };
