// Impasto rating page: consent, then one trial at a time (pairs: A / can't tell / B; or 1–5
// ratings), answers sent as they are given. The rater's id and key live in sessionStorage so a
// reload continues where it stopped. Everything the server sends is set as text, never HTML.
'use strict';

const $ = (id) => document.getElementById(id);
const SAVED = 'impasto-rate';
const SCREENS = ['loading', 'consent', 'trial', 'done'];
const state = { study: null, rater: null, key: null, trial: null, shownAt: null, zooms: 0, busy: false };

function show(screen) {
  for (const s of SCREENS) $(s).hidden = s !== screen;
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = false;
}

function clearError() { $('error').hidden = true; }

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  };
  const res = await fetch(`/rate/api/${path}`, init);
  let data = null;
  try { data = await res.json(); } catch (_) { /* not JSON */ }
  if (!res.ok) {
    const err = new Error((data && data.error) || `the server answered ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return data;
}

// Sets `img` to `url` and resolves once it has loaded. A result is never shown larger than
// its own pixels (one image pixel to one device pixel at most): upscaling would blur it and
// change what raters judge.
function load(img, url) {
  return new Promise((resolve, reject) => {
    img.onload = () => {
      if (img.classList.contains('result')) {
        img.style.width = `min(100%, ${img.naturalWidth / (window.devicePixelRatio || 1)}px)`;
      }
      resolve();
    };
    img.onerror = () => reject(new Error('an image did not load; reload the page'));
    img.src = url;
    if (img.complete && img.naturalWidth > 0) resolve();
  });
}

function setButtons(enabled) {
  for (const b of document.querySelectorAll('.buttons button')) b.disabled = !enabled;
}

async function showTrial(t) {
  if (t.done) {
    sessionStorage.removeItem(SAVED);
    show('done');
    return;
  }
  state.trial = t;
  state.shownAt = null;
  state.zooms = 0;
  setButtons(false);
  const pairs = t.mode === 'pairs';
  $('progress').textContent = `Trial ${t.index + 1} of ${t.of}`;
  $('question').textContent = pairs
    ? 'Which result is the better stylisation of the photo in the painting\'s style?'
    : 'How good is this stylisation of the photo in the painting\'s style?';
  $('pair-buttons').hidden = !pairs;
  $('acr-buttons').hidden = pairs;
  $('left-fig').hidden = !pairs;
  $('right-fig').hidden = !pairs;
  $('single-fig').hidden = pairs;
  const loads = [];
  for (const [id, url] of [['photo', t.photo], ['painting', t.painting]]) {
    $(`${id}-fig`).hidden = !url;
    if (url) loads.push(load($(id), url));
  }
  if (pairs) {
    loads.push(load($('left'), t.left), load($('right'), t.right));
  } else {
    loads.push(load($('single'), t.image));
  }
  show('trial');
  try {
    await Promise.all(loads);
  } catch (e) {
    showError(e.message);
    return;
  }
  if (state.trial !== t) return;
  state.shownAt = performance.now();
  setButtons(true);
}

async function respond(response) {
  const t = state.trial;
  if (!t || state.shownAt === null || state.busy) return;
  state.busy = true;
  setButtons(false);
  const ms = Math.round(performance.now() - state.shownAt);
  try {
    const next = await api('answer', {
      rater: state.rater, key: state.key, index: t.index,
      response, response_ms: ms, zooms: state.zooms,
    });
    clearError();
    await showTrial(next);
  } catch (e) {
    if (e.status === 409) {
      await resume();
    } else {
      showError(e.message);
      setButtons(true);
    }
  } finally {
    state.busy = false;
  }
}

async function resume() {
  try {
    await showTrial(await api('next', { rater: state.rater, key: state.key }));
  } catch (e) {
    if (e.status === 403) {
      sessionStorage.removeItem(SAVED);
      state.rater = null;
      show('consent');
    } else {
      showError(e.message);
    }
  }
}

function canStart() {
  const name = $('pseudonym').value.trim();
  $('start').disabled = !($('agree').checked && name.length > 0 && name.length <= 64);
}

async function start() {
  $('start').disabled = true;
  try {
    const joined = await api('join', {
      pseudonym: $('pseudonym').value.trim(),
      consent: $('agree').checked,
      instructions_version: state.study.instructions_version,
      viewport: { width: window.innerWidth, height: window.innerHeight },
      device_pixel_ratio: window.devicePixelRatio || 1,
    });
    state.rater = joined.rater;
    state.key = joined.key;
    sessionStorage.setItem(SAVED, JSON.stringify({ rater: joined.rater, key: joined.key }));
    clearError();
    await resume();
  } catch (e) {
    showError(e.message);
    canStart();
  }
}

// The result at one image pixel per screen pixel, panned by the pointer's place.
function openZoom(img) {
  if (state.shownAt === null) return;
  state.zooms += 1;
  const z = $('zoom-img');
  const dpr = window.devicePixelRatio || 1;
  z.src = img.src;
  z.style.width = `${img.naturalWidth / dpr}px`;
  z.style.height = `${img.naturalHeight / dpr}px`;
  $('zoom').hidden = false;
  pan(window.innerWidth / 2, window.innerHeight / 2);
}

function pan(x, y) {
  const z = $('zoom-img');
  const w = parseFloat(z.style.width);
  const h = parseFloat(z.style.height);
  const vw = window.innerWidth;
  const vh = window.innerHeight;
  const left = w <= vw ? (vw - w) / 2 : -(w - vw) * (x / vw);
  const top = h <= vh ? (vh - h) / 2 : -(h - vh) * (y / vh);
  z.style.transform = `translate(${left}px, ${top}px)`;
}

function closeZoom() { $('zoom').hidden = true; }

function onKey(e) {
  if (!$('zoom').hidden) {
    if (e.key === 'Escape') closeZoom();
    return;
  }
  if ($('trial').hidden || !state.trial || e.target instanceof HTMLInputElement) return;
  const pairs = state.trial.mode === 'pairs';
  const keys = pairs
    ? { ArrowLeft: 'left', ArrowDown: 'tie', ArrowRight: 'right' }
    : { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5 };
  if (e.key in keys) {
    e.preventDefault();
    respond(keys[e.key]);
  }
}

async function init() {
  $('agree').addEventListener('change', canStart);
  $('pseudonym').addEventListener('input', canStart);
  $('start').addEventListener('click', start);
  for (const b of document.querySelectorAll('.buttons button')) {
    const r = b.dataset.response;
    b.addEventListener('click', () => respond(/^\d$/.test(r) ? Number(r) : r));
  }
  for (const img of document.querySelectorAll('.result')) {
    img.addEventListener('click', () => openZoom(img));
  }
  $('zoom').addEventListener('click', closeZoom);
  $('zoom').addEventListener('pointermove', (e) => pan(e.clientX, e.clientY));
  document.addEventListener('keydown', onKey);
  try {
    state.study = await api('study');
  } catch (e) {
    $('loading').textContent = '';
    showError(e.message);
    return;
  }
  document.title = state.study.title;
  $('title').textContent = state.study.title;
  $('instructions').textContent = state.study.instructions;
  $('count').textContent = String(state.study.trials);
  const saved = JSON.parse(sessionStorage.getItem(SAVED) || 'null');
  if (saved && Number.isInteger(saved.rater) && typeof saved.key === 'string') {
    state.rater = saved.rater;
    state.key = saved.key;
    await resume();
  } else {
    show('consent');
  }
}

init();
