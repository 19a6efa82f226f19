// Impasto Studio mask: upload one, or paint one with a brush over the photo (pointer events:
// mouse, pen and touch). The canvas holds the mask at the photo's size as the overlay's
// opacity; it goes to the server as a white-on-black PNG when a stroke ends, and the run
// restarts with it. Uses app.js's $, state, enqueue, upload, setStatus, layoutViews.
'use strict';

const maskCanvas = $('mask-canvas');
const maskInk = maskCanvas.getContext('2d');
const INK = [224, 160, 48]; // the accent colour, shown at the canvas's CSS opacity
const brush = { last: null, timer: null };

// A blank canvas of the mask's size.
function scratch() {
  const c = document.createElement('canvas');
  c.width = maskCanvas.width;
  c.height = maskCanvas.height;
  return [c, c.getContext('2d')];
}

function showMaskInfo(m) {
  $('mask-info').textContent = m
    ? `${m.name}: the style goes over ${Math.round(m.coverage * 100)}% of the photo`
    : 'no mask: the style goes everywhere';
  $('mask-remove').disabled = !m;
}

function showPainting(on) {
  $('mask-wrap').hidden = !on;
  $('brush').hidden = !on;
  $('mask-paint').setAttribute('aria-pressed', String(on));
  $('mask-paint').textContent = on ? 'Hide painting' : 'Paint a mask';
  layoutViews();
}

// A new photo: the server dropped the old mask; painting starts blank at the photo's size.
document.addEventListener('studio:photo', (e) => {
  const { url, width, height } = e.detail;
  clearTimeout(brush.timer);
  maskCanvas.width = width;
  maskCanvas.height = height;
  $('mask-photo').src = url;
  $('mask-box').hidden = false;
  showMaskInfo(null);
});

// ---------- the brush ----------
function brushWidth() {
  return Math.max(1, Number($('brush-size').value) / 100 * Math.max(maskCanvas.width, maskCanvas.height));
}
$('brush-size').addEventListener('input', (e) => { $('brush-size-out').textContent = `${e.target.value}%`; });

// The pointer's position in the mask's pixels.
function at(e) {
  const r = maskCanvas.getBoundingClientRect();
  return [(e.clientX - r.left) * maskCanvas.width / r.width, (e.clientY - r.top) * maskCanvas.height / r.height];
}

function stroke(from, to) {
  const g = maskInk;
  g.globalCompositeOperation = $('brush-erase').checked ? 'destination-out' : 'source-over';
  g.strokeStyle = g.fillStyle = `rgb(${INK.join(',')})`;
  g.lineWidth = brushWidth();
  g.lineCap = 'round';
  g.lineJoin = 'round';
  g.beginPath();
  if (from[0] === to[0] && from[1] === to[1]) {
    g.arc(to[0], to[1], g.lineWidth / 2, 0, 2 * Math.PI);
    g.fill();
  } else {
    g.moveTo(from[0], from[1]);
    g.lineTo(to[0], to[1]);
    g.stroke();
  }
  g.globalCompositeOperation = 'source-over';
}

maskCanvas.addEventListener('pointerdown', (e) => {
  if (e.pointerType === 'mouse' && e.button !== 0) return;
  e.preventDefault();
  try { maskCanvas.setPointerCapture(e.pointerId); } catch (_) { /* a synthetic pointer */ }
  clearTimeout(brush.timer);
  brush.last = at(e);
  stroke(brush.last, brush.last);
});
maskCanvas.addEventListener('pointermove', (e) => {
  if (!brush.last) return;
  const p = at(e);
  stroke(brush.last, p);
  brush.last = p;
});
for (const type of ['pointerup', 'pointercancel']) {
  maskCanvas.addEventListener(type, () => {
    if (!brush.last) return;
    brush.last = null;
    scheduleMask();
  });
}

$('mask-clear').addEventListener('click', () => {
  maskInk.clearRect(0, 0, maskCanvas.width, maskCanvas.height);
  scheduleMask();
});
$('mask-invert').addEventListener('click', () => {
  const [c, g] = scratch();
  g.fillStyle = `rgb(${INK.join(',')})`;
  g.fillRect(0, 0, c.width, c.height);
  g.globalCompositeOperation = 'destination-out';
  g.drawImage(maskCanvas, 0, 0);
  maskInk.clearRect(0, 0, c.width, c.height);
  maskInk.drawImage(c, 0, 0);
  scheduleMask();
});
$('mask-paint').addEventListener('click', () => showPainting($('mask-wrap').hidden));

// ---------- to the server ----------
function scheduleMask() {
  clearTimeout(brush.timer);
  brush.timer = setTimeout(() => enqueue(sendPainted), 250);
}

function painted() {
  const d = maskInk.getImageData(0, 0, maskCanvas.width, maskCanvas.height).data;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) return true;
  return false;
}

// The painting as the server reads masks: white where painted, black elsewhere.
function paintedPng() {
  const [white, w] = scratch();
  w.drawImage(maskCanvas, 0, 0);
  w.globalCompositeOperation = 'source-in';
  w.fillStyle = '#fff';
  w.fillRect(0, 0, white.width, white.height);
  const [out, o] = scratch();
  o.fillStyle = '#000';
  o.fillRect(0, 0, out.width, out.height);
  o.drawImage(white, 0, 0);
  return new Promise((resolve, reject) => out.toBlob(
    (b) => (b ? resolve(b) : reject(new Error('the painted mask could not be made into a PNG'))), 'image/png'));
}

// Sends the painting; an empty one removes the mask (the style goes everywhere again).
async function sendPainted() {
  if (!painted()) return removeMask();
  const blob = await paintedPng();
  const body = await upload('mask', new File([blob], 'painted mask.png', { type: 'image/png' }));
  showMaskInfo(body.mask);
}

async function removeMask() {
  if (!state.session) return;
  const res = await fetch(`/api/session/${state.session}/mask`, { method: 'DELETE' });
  const body = await res.json().catch(() => ({ error: `removing the mask failed (HTTP ${res.status})` }));
  if (!res.ok) throw new Error(body.error);
  showMaskInfo(null);
}
$('mask-remove').addEventListener('click', () => {
  clearTimeout(brush.timer);
  maskInk.clearRect(0, 0, maskCanvas.width, maskCanvas.height);
  enqueue(removeMask);
});

// An uploaded mask goes to the server as it is, then onto the canvas to be touched up.
async function uploadMask(file) {
  clearTimeout(brush.timer);
  const body = await upload('mask', file);
  const bmp = await createImageBitmap(file);
  const [c, g] = scratch();
  g.drawImage(bmp, 0, 0, c.width, c.height);
  const img = g.getImageData(0, 0, c.width, c.height);
  const d = img.data;
  for (let i = 0; i < d.length; i += 4) {
    const grey = (d[i] + d[i + 1] + d[i + 2]) / 3 * d[i + 3] / 255;
    [d[i], d[i + 1], d[i + 2], d[i + 3]] = [...INK, grey];
  }
  maskInk.putImageData(img, 0, 0);
  showMaskInfo(body.mask);
  showPainting(true);
}
$('mask-input').addEventListener('change', (e) => {
  const f = e.target.files[0];
  e.target.value = '';
  if (f) enqueue(() => uploadMask(f));
});
const maskDrop = $('mask-drop');
maskDrop.addEventListener('dragover', (e) => { e.preventDefault(); maskDrop.classList.add('over'); });
maskDrop.addEventListener('dragleave', () => maskDrop.classList.remove('over'));
maskDrop.addEventListener('drop', (e) => {
  e.preventDefault();
  maskDrop.classList.remove('over');
  const f = e.dataTransfer.files[0];
  if (f) enqueue(() => uploadMask(f));
});
