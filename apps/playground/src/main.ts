// The playground page: checkpoint loading (file picker, URL, the reference checkpoints served beside the page),
// backend choice with visible fallbacks, and generation views (one run; full model vs exit E; checkpoint A vs B),
// tokens coloured by the exit layer that chose them, tokens/s as they come. All computing happens in the Web Worker.
import { BACKEND_CHOICES, MAX_THREADS } from './backends.js';
import type { BackendChoice, ThreadChoice } from './backends.js';
import { CHECKPOINT_FILES } from './engine.js';
import type { CheckpointSummary, DecodeMode, GenerateRequest, GenerateSummary } from './engine.js';
import type { FromWorker, Slot, ToWorker } from './protocol.js';
import './style.css';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`playground: #${id} is missing from index.html`);
  return el as T;
};

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const send = (m: ToWorker, transfer: Transferable[] = []): void => worker.postMessage(m, transfer);

// ---------------------------------------------------------------- state

const summaries = new Map<Slot, CheckpointSummary>();
interface Pane {
  el: HTMLElement;
  text: HTMLElement;
  stats: HTMLElement;
  layers: number;
  ids: number[];
}
const panes = new Map<number, Pane>();
let nextId = 1;
let pending = 0;

// ---------------------------------------------------------------- backend

const backendSelect = $<HTMLSelectElement>('backend');
for (const c of BACKEND_CHOICES) backendSelect.add(new Option(c, c));

const threadSelect = $<HTMLSelectElement>('threads');
threadSelect.add(new Option(`auto (min(${MAX_THREADS}, ${navigator.hardwareConcurrency} cores))`, 'auto'));
for (let t = 1; t <= MAX_THREADS; t++) threadSelect.add(new Option(String(t), String(t)));
const threadChoice = (): ThreadChoice => (threadSelect.value === 'auto' ? 'auto' : Number(threadSelect.value));

function chooseBackend(choice: BackendChoice): void {
  $('backend-status').textContent = `opening ${choice}…`;
  $('backend-status').dataset.state = 'opening';
  $('backend-notes').replaceChildren();
  setBusy(true);
  send({ type: 'backend', choice, threads: threadChoice() });
}
backendSelect.addEventListener('change', () => chooseBackend(backendSelect.value as BackendChoice));
threadSelect.addEventListener('change', () => chooseBackend(backendSelect.value as BackendChoice));
$<HTMLInputElement>('packed').addEventListener('change', (e) => {
  setBusy(true);
  send({ type: 'packed', on: (e.target as HTMLInputElement).checked });
});

function isolationNote(): string {
  return globalThis.crossOriginIsolated
    ? 'cross-origin isolated: SharedArrayBuffer is available (the wasm backend can run Web Worker threads)'
    : 'not cross-origin isolated: no SharedArrayBuffer (the wasm backend runs one thread)';
}

// ---------------------------------------------------------------- checkpoints

function setSlotStatus(slot: Slot, state: 'loading' | 'loaded' | 'error', text: string): void {
  const el = $(`status-${slot}`);
  el.dataset.state = state;
  el.textContent = text;
}

async function fetchText(url: string): Promise<string> {
  return (await fetchOk(url)).text();
}

async function fetchOk(url: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`could not fetch ${url} (${(e as Error).message}); is the server reachable?`, { cause: e });
  }
  if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}${res.status === 404 ? ' (not found)' : ''}`);
  return res;
}

async function loadFromUrl(slot: Slot, base: string, label: string, hint = ''): Promise<void> {
  const dir = new URL(base.endsWith('/') ? base : `${base}/`, location.href);
  setSlotStatus(slot, 'loading', `loading ${label}…`);
  try {
    // Fetched together; a failure is reported for the first file in this order (config.json, model.safetensors,
    // tokenizer.json), not for whichever answered first, so a missing directory always names config.json.
    const settled = await Promise.allSettled([
      fetchText(new URL(CHECKPOINT_FILES.config, dir).href),
      fetchOk(new URL(CHECKPOINT_FILES.weights, dir).href).then((r) => r.arrayBuffer()),
      fetchText(new URL(CHECKPOINT_FILES.tokenizer, dir).href),
    ]);
    for (const r of settled) if (r.status === 'rejected') throw r.reason;
    const [config, weights, tokenizer] = settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [string, ArrayBuffer, string];
    send({ type: 'load', slot, source: label, config, weights, tokenizer }, [weights]);
  } catch (e) {
    setSlotStatus(slot, 'error', `${(e as Error).message}${hint}`);
  }
}

async function loadFromFiles(slot: Slot, files: FileList): Promise<void> {
  const byName = new Map([...files].map((f) => [f.name, f] as const));
  const names = Object.values(CHECKPOINT_FILES);
  const missing = names.filter((n) => !byName.has(n));
  if (missing.length > 0) {
    setSlotStatus(slot, 'error', `Pick the three files of a checkpoint together (${names.join(', ')}); missing: ${missing.join(', ')}.`);
    return;
  }
  setSlotStatus(slot, 'loading', 'reading files…');
  const config = await byName.get(CHECKPOINT_FILES.config)!.text();
  const weights = await byName.get(CHECKPOINT_FILES.weights)!.arrayBuffer();
  const tokenizer = await byName.get(CHECKPOINT_FILES.tokenizer)!.text();
  send({ type: 'load', slot, source: 'local files', config, weights, tokenizer }, [weights]);
}

for (const slot of ['a', 'b'] as const) {
  $<HTMLInputElement>(`files-${slot}`).addEventListener('change', (e) => {
    const files = (e.target as HTMLInputElement).files;
    if (files !== null) void loadFromFiles(slot, files);
  });
  $(`load-url-${slot}`).addEventListener('click', () => {
    const url = $<HTMLInputElement>(`url-${slot}`).value.trim();
    if (url === '') setSlotStatus(slot, 'error', 'Type the URL of a checkpoint directory (it must hold config.json, model.safetensors and tokenizer.json).');
    else void loadFromUrl(slot, url, url);
  });
  for (const ref of ['tiny', 'quick']) {
    $(`ref-${ref}-${slot}`).addEventListener('click', () => {
      void loadFromUrl(slot, `checkpoints/${ref}/`, `the ${ref} reference checkpoint`, ` — the reference checkpoints are not in the repository: see the playground README (pnpm --filter playground make-tiny / export-checkpoint).`);
    });
  }
}

// ---------------------------------------------------------------- generation

function readNumber(id: string): number {
  return Number($<HTMLInputElement>(id).value);
}

function currentMode(): DecodeMode {
  const kind = $<HTMLSelectElement>('mode').value;
  if (kind === 'dynamic') return { kind, threshold: readNumber('threshold') };
  if (kind === 'speculative') return { kind, exitLayer: readNumber('exit'), draftTokens: readNumber('draft') };
  return { kind: 'exit', exitLayer: readNumber('exit') };
}

function request(mode: DecodeMode): GenerateRequest {
  return { prompt: $<HTMLTextAreaElement>('prompt').value, maxNewTokens: readNumber('tokens'), mode, temperature: readNumber('temperature'), topK: readNumber('topk'), seed: readNumber('seed') };
}

function modeLabel(m: DecodeMode, L: number): string {
  if (m.kind === 'exit') return m.exitLayer === L ? `full model (${L} layers)` : `exit ${m.exitLayer} of ${L}`;
  if (m.kind === 'dynamic') return `confidence exit ≥ ${m.threshold}`;
  return `self-speculative: draft ${m.draftTokens} with ${m.exitLayer} layers, verify with ${L}`;
}

function addPane(slot: Slot, mode: DecodeMode): number {
  const s = summaries.get(slot)!;
  const id = nextId++;
  const el = document.createElement('section');
  el.className = 'pane';
  el.dataset.state = 'running';
  el.dataset.slot = slot;
  const title = document.createElement('h3');
  title.textContent = `${slot.toUpperCase()} · ${s.variant}${$<HTMLInputElement>('packed').checked ? ' (packed)' : ''} · ${modeLabel(mode, s.layers)}`;
  const text = document.createElement('div');
  text.className = 'text';
  const stats = document.createElement('div');
  stats.className = 'stats';
  stats.textContent = 'waiting…';
  el.append(title, text, stats);
  $('outputs').append(el);
  panes.set(id, { el, text, stats, layers: s.layers, ids: [] });
  return id;
}

function exitColour(layer: number, L: number): string {
  const f = L <= 1 ? 1 : (layer - 1) / (L - 1); // 0 at exit 1 (warm), 1 at the last layer (cool)
  return `hsl(${Math.round(20 + 200 * f)} 80% 85%)`;
}

function drawLegend(L: number): void {
  const legend = $('legend');
  legend.replaceChildren('exit layer: ');
  for (let l = 1; l <= L; l++) {
    const sw = document.createElement('span');
    sw.className = 'swatch';
    sw.style.background = exitColour(l, L);
    sw.textContent = String(l);
    legend.append(sw);
  }
}

$('generate').addEventListener('click', () => {
  $('outputs').replaceChildren();
  panes.clear();
  const view = $<HTMLSelectElement>('view').value;
  const a = summaries.get('a');
  if (a === undefined) {
    $('run-error').textContent = 'Load checkpoint A first.';
    return;
  }
  const runs: [Slot, DecodeMode][] = [];
  const mode = currentMode();
  if (view === 'exits') {
    runs.push(['a', { kind: 'exit', exitLayer: a.layers }], ['a', { kind: 'exit', exitLayer: readNumber('exit') }]);
  } else if (view === 'checkpoints') {
    if (!summaries.has('b')) {
      $('run-error').textContent = 'Load checkpoint B to compare two checkpoints.';
      return;
    }
    runs.push(['a', mode], ['b', mode]);
  } else runs.push(['a', mode]);
  $('run-error').textContent = '';
  drawLegend(Math.max(...runs.map(([s]) => summaries.get(s)!.layers)));
  $('outputs').dataset.view = view;
  for (const [slot, m] of runs) {
    const id = addPane(slot, m);
    pending++;
    send({ type: 'generate', id, slot, request: request(m) });
  }
  setBusy(true);
});

function finishStats(p: Pane, s: GenerateSummary): string {
  const parts = [`${s.ids.length} tokens`, `${s.tokensPerSecond.toFixed(1)} tokens/s (decoding; prefill ${s.prefillMs.toFixed(0)} ms)`];
  if (!Number.isNaN(s.meanExitLayer)) parts.push(`mean exit ${s.meanExitLayer.toFixed(2)} of ${p.layers}`);
  if (s.acceptanceRate !== null) parts.push(`acceptance ${(100 * s.acceptanceRate).toFixed(0)}%`);
  if (s.stopped) parts.push('stopped at end-of-text');
  return parts.join(' · ');
}

function setBusy(busy: boolean): void {
  document.body.dataset.busy = busy ? '1' : '0';
  $<HTMLButtonElement>('generate').disabled = busy;
}

// ---------------------------------------------------------------- worker messages

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  if (m.type === 'backend') {
    const b = m.backend;
    const status = $('backend-status');
    status.dataset.state = 'ready';
    status.dataset.active = b.active;
    status.dataset.threads = String(b.threads);
    status.textContent = `running: ${b.active} — ${b.renderer}`;
    backendSelect.value = b.requested;
    const notes = $('backend-notes');
    notes.replaceChildren(...b.notes.map((n) => Object.assign(document.createElement('li'), { className: 'fallback', textContent: n })));
    if (b.threadNote !== null) notes.append(Object.assign(document.createElement('li'), { className: 'threads-note', textContent: b.threadNote }));
    notes.append(Object.assign(document.createElement('li'), { textContent: isolationNote() }));
    setBusy(pending > 0);
  } else if (m.type === 'loaded') {
    summaries.set(m.slot, m.summary);
    const s = m.summary;
    setSlotStatus(m.slot, 'loaded', `${m.source}: ${s.variant}, ${s.layers} layers × ${s.dim}, vocabulary ${s.vocabSize}, context ${s.maxSeqLen}, ${s.params.toLocaleString('en')} parameters (${(s.weightBytes / 1024).toFixed(0)} KiB)${m.packed === null ? '' : `; ${m.packed}`}`);
    const exit = $<HTMLInputElement>('exit');
    exit.max = String(s.layers);
    if (Number(exit.value) > s.layers) exit.value = String(Math.max(1, Math.floor(s.layers / 2)));
  } else if (m.type === 'packed') {
    const box = $<HTMLInputElement>('packed');
    box.checked = m.on;
    $('packed-notes').textContent = m.notes.join(' · ');
    setBusy(pending > 0);
  } else if (m.type === 'token') {
    const p = panes.get(m.id);
    if (p === undefined) return;
    p.ids.push(m.token);
    const span = document.createElement('span');
    span.className = 'tok';
    span.textContent = m.text;
    span.title = `token ${m.token}, exit layer ${m.exitLayer}`;
    span.dataset.exit = String(m.exitLayer);
    span.style.background = exitColour(m.exitLayer, p.layers);
    p.text.append(span);
    p.stats.textContent = `${m.count} tokens · ${((m.count * 1000) / m.elapsedMs).toFixed(1)} tokens/s (live, prefill included)`;
  } else if (m.type === 'done') {
    const p = panes.get(m.id);
    pending--;
    if (p !== undefined) {
      p.el.dataset.state = 'done';
      p.el.dataset.ids = m.summary.ids.join(',');
      p.el.dataset.exits = m.summary.exitLayers.join(',');
      p.el.dataset.tokensPerSecond = String(m.summary.tokensPerSecond);
      p.el.dataset.prefillMs = String(m.summary.prefillMs);
      p.el.dataset.promptTokens = String(m.summary.promptIds.length);
      p.stats.textContent = finishStats(p, m.summary);
    }
    $('live-buffers').textContent = `live buffers on the backend: ${m.liveBuffers}`;
    setBusy(pending > 0);
  } else {
    if (m.slot !== undefined) setSlotStatus(m.slot, 'error', m.message);
    else if (m.id !== undefined) {
      pending--;
      const p = panes.get(m.id);
      if (p !== undefined) {
        p.el.dataset.state = 'error';
        p.stats.textContent = m.message;
      }
      setBusy(pending > 0);
    } else {
      $('backend-status').dataset.state = 'error';
      $('backend-status').textContent = m.message;
      setBusy(pending > 0);
    }
  }
};
worker.onerror = (e) => {
  $('backend-status').dataset.state = 'error';
  $('backend-status').textContent = `The worker failed to start: ${e.message}`;
};

// ---------------------------------------------------------------- start: ?backend=…&checkpoint=tiny|quick|URL

const params = new URLSearchParams(location.search);
const initial = params.get('backend') ?? 'wasm';
const threadsParam = params.get('threads');
if (threadsParam !== null) {
  if ([...threadSelect.options].some((o) => o.value === threadsParam)) threadSelect.value = threadsParam;
  else $('run-error').textContent = `?threads=${threadsParam} is not a thread count; allowed: auto, 1–${MAX_THREADS}.`;
}
chooseBackend((BACKEND_CHOICES as readonly string[]).includes(initial) ? (initial as BackendChoice) : 'wasm');
if (!(BACKEND_CHOICES as readonly string[]).includes(initial)) $('run-error').textContent = `?backend=${initial} is not a backend; allowed: ${BACKEND_CHOICES.join(', ')}.`;
if (params.get('packed') === '1') {
  $<HTMLInputElement>('packed').checked = true;
  send({ type: 'packed', on: true });
}
const ck = params.get('checkpoint');
if (ck === 'tiny' || ck === 'quick') $(`ref-${ck}-a`).click();
else if (ck !== null) void loadFromUrl('a', ck, ck);
