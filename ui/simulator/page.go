package simulator

import (
	"io"
	"strconv"
	"strings"
)

// writePage writes the simulator's page for a screen of w×h pixels. It is
// self-contained: the simulator must work without network access.
func writePage(out io.Writer, w, h int) {
	strings.NewReplacer("{{W}}", strconv.Itoa(w), "{{H}}", strconv.Itoa(h)).WriteString(out, page)
}

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>RoomKit screen</title>
<style>
  html, body { margin: 0; height: 100%; background: #000; overflow: hidden; }
  body { display: flex; align-items: center; justify-content: center; }
  #screen { display: block; cursor: pointer; user-select: none; -webkit-user-drag: none; }
  #status { position: fixed; left: 8px; bottom: 6px; font: 12px system-ui, sans-serif; color: #888; }
</style>
</head>
<body>
<img id="screen" src="frame.png" width="{{W}}" height="{{H}}" alt="RoomKit screen" draggable="false">
<div id="status"></div>
<script>
"use strict";
const W = {{W}}, H = {{H}};
const img = document.getElementById("screen");
const status = document.getElementById("status");

// Scale the screen to fit the window, keeping its aspect ratio.
function fit() {
  const s = Math.min(window.innerWidth / W, window.innerHeight / H);
  img.style.width = Math.floor(W * s) + "px";
  img.style.height = Math.floor(H * s) + "px";
}
window.addEventListener("resize", fit);
fit();

// At most one frame download at a time; frames announced meanwhile
// collapse into one more download of the latest.
let loading = false, wanted = null;
function load(seq) {
  if (loading) { wanted = seq; return; }
  loading = true;
  const next = new Image();
  next.onload = next.onerror = () => {
    if (next.naturalWidth) { img.src = next.src; document.body.dataset.frame = seq; }
    loading = false;
    if (wanted !== null) { const s = wanted; wanted = null; load(s); }
  };
  next.src = "frame.png?f=" + seq;
}

// Frames stream in once the page has loaded. A download begun before the
// load event holds that event off; the pairing screen changes every
// second, and where a frame takes longer than that to arrive (a slow or
// busy machine) each download would begin the next and the page would
// never finish loading.
function live() {
  const events = new EventSource("events");
  events.onopen = () => { document.body.dataset.live = "1"; };
  events.addEventListener("frame", e => { status.textContent = ""; load(e.data); });
  events.onerror = () => { document.body.dataset.live = ""; status.textContent = "Disconnected from the kit: retrying…"; };
}
if (document.readyState === "complete") live(); else window.addEventListener("load", live);

// A click is a tap, in screen pixels.
img.addEventListener("click", async e => {
  const r = img.getBoundingClientRect();
  const x = Math.floor((e.clientX - r.left) * W / r.width);
  const y = Math.floor((e.clientY - r.top) * H / r.height);
  if (x < 0 || y < 0 || x >= W || y >= H) return;
  try {
    const res = await fetch("tap", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({x, y})});
    status.textContent = res.ok ? "" : "Tap refused: " + await res.text();
  } catch (err) {
    status.textContent = "Tap not sent: " + err;
  }
});
</script>
</body>
</html>
`
