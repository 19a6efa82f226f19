// Impasto Studio page: one WebSocket per tab (its session), uploads over HTTP, live preview,
// loss plot, history, final render. Plain JS, no build step, nothing from other hosts.
'use strict';

const $ = (id) => document.getElementById(id);
const state = {
  ws: null,
  session: null,
  controls: null,
  rev: 0,
  styles: [],
  maxUpload: 0,
  examples: [],
  lastFrame: null,
  pendingSteer: null,
  historyKeys: new Set(),
  points: [],
  work: Promise.resolve(),
  models: [],
  fast: { rev: 0, model: null, blend: null },
};

// ---------- status and errors ----------
function setStatus(text) { $('status').textContent = text; }
function showError(message) {
  $('error-text').textContent = message;
  $('error').hidden = false;
}
$('error-close').addEventListener('click', () => { $('error').hidden = true; });

// Runs uploads and steering one after another, so weights always match the styles.
function enqueue(task) {
  state.work = state.work.then(task).catch((e) => showError(String(e && e.message || e)));
  return state.work;
}

// ---------- number formatting ----------
function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return String(Number(Number(v).toPrecision(3)));
}
function colourName(mode) {
  return { off: 'colour from painting', luminance: 'photo colour (luminance)', histogram: 'photo colour (histogram)' }[mode] || mode;
}
function describe(c) {
  const w = c.style_weights.length > 1 ? ` · blend ${c.style_weights.map(fmt).join(':')}` : '';
  return `α ${fmt(c.content_weight)} · β ${fmt(c.style_weight)} · γ ${fmt(c.tv_weight)} · ` +
    `style scale ${fmt(c.style_scale)} · ${colourName(c.preserve_color)} · ${c.size} px${w}`;
}

// ---------- controls ----------
const sliders = [
  ['content-weight', 'content_weight'],
  ['style-weight', 'style_weight'],
  ['tv-weight', 'tv_weight'],
  ['style-scale', 'style_scale'],
];

function showControls(c) {
  for (const [id, key] of sliders) {
    const el = $(id);
    el.value = el.hasAttribute('data-log') ? Math.log10(c[key]) : c[key];
    $(`${id}-out`).textContent = fmt(c[key]);
  }
  $('preserve-color').value = c.preserve_color;
  $('preview-size').value = String(c.size);
  $('preview-iters').value = String(c.iters);
  renderStyles();
}

for (const [id, key] of sliders) {
  $(id).addEventListener('input', (e) => {
    const el = e.target;
    const v = el.hasAttribute('data-log') ? Math.pow(10, Number(el.value)) : Number(el.value);
    state.controls[key] = Number(v.toPrecision(4));
    $(`${id}-out`).textContent = fmt(state.controls[key]);
    scheduleSteer();
  });
}
$('preserve-color').addEventListener('change', (e) => { state.controls.preserve_color = e.target.value; scheduleSteer(); });
$('preview-size').addEventListener('change', (e) => { state.controls.size = Number(e.target.value); scheduleSteer(); });
$('preview-iters').addEventListener('change', (e) => {
  const n = Math.round(Number(e.target.value));
  if (n >= 1) { state.controls.iters = n; scheduleSteer(); }
});

let steerTimer = null;
function scheduleSteer() {
  clearTimeout(steerTimer);
  steerTimer = setTimeout(() => enqueue(sendSteer), 80);
}
// Sends the controls and resolves once the server has taken them (or refused them), so that
// the next upload cannot overtake them.
function sendSteer() {
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return Promise.resolve();
  state.rev += 1;
  const rev = state.rev;
  state.ws.send(JSON.stringify({ type: 'steer', rev, controls: state.controls }));
  return new Promise((resolve) => {
    state.pendingSteer = { rev, resolve };
    setTimeout(resolve, 5000);
  });
}
function steerSettled(rev) {
  const p = state.pendingSteer;
  if (p && (rev === undefined || rev >= p.rev)) { state.pendingSteer = null; p.resolve(); }
}

// ---------- inputs ----------
function renderStyles() {
  const box = $('styles');
  box.textContent = '';
  state.styles.forEach((s, i) => {
    const item = document.createElement('div');
    item.className = 'style-item';
    const img = document.createElement('img');
    img.src = s.url;
    img.alt = s.name;
    const label = document.createElement('label');
    const out = document.createElement('output');
    const w = state.controls ? state.controls.style_weights[i] : 1;
    out.textContent = fmt(w);
    label.append(`${s.name} `, out);
    const range = document.createElement('input');
    range.type = 'range'; range.min = '0'; range.max = '1'; range.step = '0.05';
    range.value = String(w);
    range.className = 'style-blend';
    range.addEventListener('input', () => {
      state.controls.style_weights[i] = Number(range.value);
      out.textContent = fmt(Number(range.value));
      scheduleSteer();
    });
    label.append(range);
    item.append(img, label);
    box.append(item);
  });
}

async function upload(kind, file) {
  if (!state.session) throw new Error('not connected to the studio yet; wait a moment and try again');
  if (file.size > state.maxUpload) {
    throw new Error(`${file.name} is ${(file.size / 1048576).toFixed(1)} MB, over the upload limit of ` +
      `${(state.maxUpload / 1048576).toFixed(0)} MB; choose a smaller file`);
  }
  setStatus(`uploading ${file.name}…`);
  let res;
  try {
    res = await fetch(`/api/session/${state.session}/${kind}?name=${encodeURIComponent(file.name)}`,
      { method: 'POST', body: file });
  } catch (e) {
    throw new Error(`the upload of ${file.name} failed (${e.message})`);
  }
  const body = await res.json().catch(() => ({ error: `the upload of ${file.name} failed (HTTP ${res.status})` }));
  if (!res.ok) { setStatus('upload refused'); throw new Error(body.error); }
  if (kind === 'content') {
    const url = URL.createObjectURL(file);
    $('content-thumb').src = url;
    $('content-thumb').hidden = false;
    $('content-name').textContent = `${body.content.name} (${body.content.width}×${body.content.height})`;
    // The server dropped the mask drawn over the last photo; mask.js starts a new one.
    const { width, height } = body.content;
    document.dispatchEvent(new CustomEvent('studio:photo', { detail: { url, width, height } }));
  } else if (kind === 'style') {
    state.styles.push({ name: body.styles[body.styles.length - 1].name, url: URL.createObjectURL(file) });
  }
  // The page's controls stay as they are; the server adds a blend weight per new style.
  state.controls.style_weights = body.controls.style_weights;
  showControls(state.controls);
  setStatus(body.content && body.styles.length ? 'starting the run…' : 'now add ' + (body.content ? 'a style image' : 'a content photo'));
  return body;
}

function uploadFiles(kind, files) {
  for (const f of files) enqueue(() => upload(kind, f));
}
$('content-input').addEventListener('change', (e) => { uploadFiles('content', [...e.target.files].slice(0, 1)); e.target.value = ''; });
$('style-input').addEventListener('change', (e) => { uploadFiles('style', [...e.target.files]); e.target.value = ''; });
for (const [id, kind] of [['content-drop', 'content'], ['style-drop', 'style']]) {
  const zone = $(id);
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const files = [...e.dataTransfer.files];
    uploadFiles(kind, kind === 'content' ? files.slice(0, 1) : files);
  });
}
$('use-examples').addEventListener('click', () => {
  for (const ex of state.examples) {
    enqueue(async () => {
      const res = await fetch(ex.url);
      const blob = await res.blob();
      await upload(ex.role, new File([blob], ex.name, { type: blob.type }));
    });
  }
});

// Two views side by side while the model's result or the mask painting is shown.
function layoutViews() {
  $('views').classList.toggle('two-up', !$('fast-wrap').hidden || !$('mask-wrap').hidden);
}

// ---------- trained models ----------
function showModels(models) {
  state.models = models;
  $('model-box').hidden = models.length === 0;
  for (const m of models) {
    const o = document.createElement('option');
    o.value = m.name;
    o.textContent = m.styles.length > 1 ? `${m.name} (${m.styles.length} styles)` : m.name;
    $('model').append(o);
  }
}

// One slider per style of a model that has several.
function renderBlend() {
  const box = $('model-blend');
  box.textContent = '';
  const m = state.fast.model;
  if (!m || m.styles.length < 2) return;
  for (const name of m.styles) {
    const label = document.createElement('label');
    const out = document.createElement('output');
    out.textContent = fmt(state.fast.blend[name]);
    const range = document.createElement('input');
    range.type = 'range'; range.min = '0'; range.max = '1'; range.step = '0.05';
    range.value = String(state.fast.blend[name]);
    range.className = 'model-blend';
    range.addEventListener('input', () => {
      state.fast.blend[name] = Number(range.value);
      out.textContent = fmt(Number(range.value));
      schedulePick();
    });
    label.append(`${name} `, out, range);
    box.append(label);
  }
}

$('model').addEventListener('change', (e) => {
  const m = state.models.find((x) => x.name === e.target.value) || null;
  state.fast.model = m;
  state.fast.blend = m ? Object.fromEntries(m.styles.map((s, i) => [s, i === 0 ? 1 : 0])) : null;
  renderBlend();
  $('fast-wrap').hidden = !m;
  layoutViews();
  $('fast').hidden = true;
  $('fast-info').textContent = 'add a photo: the model\'s result appears here';
  $('refine').disabled = true;
  sendPick();
});

// Blend sliders send at most every 50 ms; the server computes only the latest.
let pickTimer = null;
function schedulePick() {
  clearTimeout(pickTimer);
  pickTimer = setTimeout(sendPick, 50);
}
function sendPick() {
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return;
  state.fast.rev += 1;
  const m = state.fast.model;
  state.ws.send(JSON.stringify({
    type: 'pick_model', rev: state.fast.rev, model: m ? m.name : null, blend: m ? state.fast.blend : null,
  }));
}

function showStylized(r) {
  if (!state.fast.model) return;
  $('fast').src = r.image;
  $('fast').hidden = false;
  const blend = r.mix.length > 1 ? ` · blend ${r.mix.map(fmt).join(':')}` : '';
  $('fast-info').textContent = `one pass of ${r.model}${blend} · ${r.width}×${r.height} · ${Math.round(r.ms)} ms`;
  $('refine').disabled = false;
}

// Refine needs the paintings: without any, the bundled ones named like the model's styles go in.
$('refine').addEventListener('click', () => {
  const m = state.fast.model;
  if (!state.styles.length && m) {
    for (const ex of state.examples) {
      const stem = ex.name.replace(/\.[^.]*$/, '');
      if (ex.role !== 'style' || !(state.fast.blend[stem] > 0)) continue;
      enqueue(async () => {
        const res = await fetch(ex.url);
        const blob = await res.blob();
        await upload('style', new File([blob], ex.name, { type: blob.type }));
      });
    }
  }
  enqueue(async () => {
    state.ws.send(JSON.stringify({ type: 'refine' }));
    setStatus('refining the model\'s result…');
  });
});

// ---------- preview, metrics, history ----------
function showFrame(f) {
  const prev = state.lastFrame;
  if (prev && prev.rev !== f.rev) addHistory(prev);
  state.lastFrame = f;
  $('preview').src = f.image;
  $('preview').hidden = false;
  $('placeholder').hidden = true;
  const mask = f.mask === null || f.mask === undefined ? '' : ` · mask over ${Math.round(f.mask * 100)}%`;
  $('frame-info').textContent = `${describe(f.controls)}${mask} — step ${f.step}, scale ${f.stage + 1}/${f.stages}`;
  $('frame-info').dataset.rev = String(f.rev);
  $('step').textContent = String(f.step);
  $('frame-size').textContent = `${f.width}×${f.height}`;
  if (f.ssim !== null) $('ssim').textContent = f.ssim.toFixed(3);
}

function addHistory(f) {
  const key = `${f.rev}:${f.step}`;
  if (state.historyKeys.has(key)) return;
  state.historyKeys.add(key);
  const item = document.createElement('div');
  item.className = 'hist';
  item.title = 'restore these settings';
  const img = document.createElement('img');
  img.src = f.image;
  img.alt = describe(f.controls);
  const cap = document.createElement('small');
  cap.textContent = describe(f.controls);
  item.append(img, cap);
  item.addEventListener('click', () => {
    if (f.controls.style_weights.length !== state.styles.length) {
      showError('that result used a different set of style images; its settings cannot be restored');
      return;
    }
    state.controls = JSON.parse(JSON.stringify(f.controls));
    showControls(state.controls);
    scheduleSteer();
  });
  const strip = $('history-strip');
  strip.prepend(item);
  while (strip.children.length > 16) strip.lastChild.remove();
}

// ---------- loss plot ----------
const series = [['total', '#efe8dc'], ['content', '#6cb6e6'], ['style', '#e0a030'], ['tv', '#8bc47a']];
function drawLosses() {
  const cv = $('losses');
  const g = cv.getContext('2d');
  const W = cv.width, H = cv.height, pad = 6;
  g.clearRect(0, 0, W, H);
  const pts = state.points;
  if (pts.length < 2) return;
  let lo = Infinity, hi = -Infinity;
  for (const p of pts) for (const [k] of series) {
    const v = p.losses[k];
    if (v > 0) { const l = Math.log10(v); lo = Math.min(lo, l); hi = Math.max(hi, l); }
  }
  if (!Number.isFinite(lo)) return;
  if (hi - lo < 1e-6) hi = lo + 1;
  const x = (i) => pad + (W - 2 * pad) * i / (pts.length - 1);
  const y = (v) => H - pad - (H - 2 * pad) * (Math.log10(v) - lo) / (hi - lo);
  g.strokeStyle = '#5a544c';
  g.setLineDash([3, 3]);
  for (let i = 1; i < pts.length; i++) {
    if (pts[i].rev !== pts[i - 1].rev) { g.beginPath(); g.moveTo(x(i), 0); g.lineTo(x(i), H); g.stroke(); }
  }
  g.setLineDash([]);
  for (const [k, colour] of series) {
    g.strokeStyle = colour;
    g.lineWidth = 1.5;
    g.beginPath();
    let started = false;
    pts.forEach((p, i) => {
      const v = p.losses[k];
      if (!(v > 0)) { started = false; return; }
      if (started) g.lineTo(x(i), y(v)); else { g.moveTo(x(i), y(v)); started = true; }
    });
    g.stroke();
  }
}

// ---------- final render ----------
$('render-final').addEventListener('click', () => {
  const size = Math.round(Number($('final-size').value));
  const iters = Math.round(Number($('final-iters').value));
  state.ws.send(JSON.stringify({ type: 'render_final', size, iters }));
  $('final-progress').value = 0;
  $('final-progress').hidden = false;
  $('download').hidden = true;
  $('render-final').disabled = true;
  $('cancel-final').disabled = false;
  setStatus(`rendering the final image at ${size} px…`);
});
$('cancel-final').addEventListener('click', () => state.ws.send(JSON.stringify({ type: 'cancel_final' })));
function finalEnded() {
  $('final-progress').hidden = true;
  $('render-final').disabled = false;
  $('cancel-final').disabled = true;
}

// ---------- the session's socket ----------
function handle(m) {
  switch (m.type) {
    case 'hello':
      state.session = m.session;
      state.controls = m.defaults;
      state.maxUpload = m.max_upload_bytes;
      state.examples = m.examples;
      $('final-size').max = String(m.max_final_size);
      showControls(state.controls);
      showModels(m.models);
      setStatus('ready — add a photo and a painting');
      break;
    case 'steered':
      steerSettled(m.rev);
      break;
    case 'queued':
      setStatus(`waiting for a free run slot — position ${m.position} in the queue`);
      break;
    case 'running':
      setStatus('rendering…');
      break;
    case 'idle':
      setStatus('done — move a control to continue from this image');
      if (state.lastFrame) addHistory(state.lastFrame);
      break;
    case 'step':
      state.points.push(m);
      if (state.points.length > 2000) state.points.shift();
      drawLosses();
      break;
    case 'frame':
      showFrame(m);
      break;
    case 'stylized':
      showStylized(m);
      break;
    case 'gram_cosine':
      $('gram').textContent = m.value.toFixed(3);
      break;
    case 'final_progress':
      $('final-progress').value = m.progress;
      setStatus(`final render: iteration ${m.done_iters} of ${m.total_iters}`);
      break;
    case 'final_ready':
      finalEnded();
      $('download').href = m.url;
      $('download').textContent = `Download PNG (${m.width}×${m.height})`;
      $('download').hidden = false;
      setStatus('final image ready');
      break;
    case 'final_cancelled':
      finalEnded();
      setStatus('final render stopped');
      break;
    case 'error':
      showError(m.message);
      steerSettled();
      break;
    default:
      break;
  }
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${proto}://${location.host}/ws`);
  state.ws = ws;
  ws.addEventListener('message', (e) => handle(JSON.parse(e.data)));
  ws.addEventListener('close', () => {
    state.session = null;
    setStatus('disconnected from the studio — reload the page to start a new session');
  });
}
connect();

// The header links to the rating study when this studio serves one.
fetch('/rate/api/study').then((r) => { $('rating-link').hidden = !r.ok; }, () => {});
