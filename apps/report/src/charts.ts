// The report's figures: vega-lite specs built from result files, compiled by vega-lite, rendered to SVG by vega's
// headless View (no browser, no canvas) and to PNG by resvg with one explicitly loaded font (no system fonts), so
// that the same inputs give the same bytes. Element ids in the SVG are renamed per figure (they must be unique in
// one HTML page, and must not depend on how many charts the process drew before).
import { existsSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { DecodeConfig, DecodeMetrics, EvalMetrics, KernelsMetrics, LoadedResult, StepMetrics, TrainConfig } from './load.js';
import { FONT_FAMILY } from './font.js';
import { ReportError } from './load.js';


export interface Figure {
  id: string;
  title: string;
  caption: string;
  /** What the browser test expects: the vega mark class and how many marks of it. */
  expect: { markClass: string; count: number };
  spec: TopLevelSpec;
  sources: LoadedResult[];
}

export interface RenderedFigure extends Figure {
  svg: string;
  png: Uint8Array;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const runName = (r: LoadedResult) => ((r.doc.paperCompat ?? []).length > 0 ? `${r.doc.suite} (paper-compat)` : r.doc.suite);
const machine = (r: LoadedResult) => `${r.doc.meta.cpuModel} ×${r.doc.meta.cores}`;

const BASE = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width: 520,
  height: 280,
  background: 'white',
  config: { font: FONT_FAMILY, axis: { labelFont: FONT_FAMILY, titleFont: FONT_FAMILY }, legend: { labelFont: FONT_FAMILY, titleFont: FONT_FAMILY, labelLimit: 280 }, title: { font: FONT_FAMILY } },
} as const;

/** Figure 1: standard deviation of the residual stream after each layer, per run (eval `activations`). */
export function activationFigure(all: readonly LoadedResult[]): Figure | null {
  const evals = all.filter((r) => r.role === 'eval' && ((r.doc.metrics as EvalMetrics).activations ?? []).length > 0).sort((a, b) => cmp(runName(a), runName(b)) || a.id - b.id);
  if (evals.length === 0) return null;
  const values = evals.flatMap((r) =>
    [...(r.doc.metrics as EvalMetrics).activations!].sort((a, b) => a.layer - b.layer).map((a) => ({ run: `${runName(r)} [#${r.id}]`, variant: (r.doc.config as TrainConfig).model.variant, layer: a.layer, std: a.residual.std })),
  );
  return {
    id: 'figure-1',
    title: 'Figure 1 — activation standard deviation per layer (residual stream)',
    caption: 'Standard deviation of the residual stream after each layer on the evaluation windows, per run (eval results, `activations[].residual.std`). The paper\'s Figure 1 plots this per variant.',
    expect: { markClass: 'mark-line', count: evals.length },
    spec: {
      ...BASE,
      data: { values },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'layer', type: 'quantitative', title: 'layer', axis: { tickMinStep: 1 } },
        y: { field: 'std', type: 'quantitative', title: 'activation std' },
        color: { field: 'run', type: 'nominal', title: 'run', sort: null },
      },
    } as TopLevelSpec,
    sources: evals,
  };
}

/** Training curves: train loss per step per run (train `series.train`). */
export function trainingCurves(all: readonly LoadedResult[]): Figure | null {
  const runs = all.filter((r) => r.role === 'train' && (r.doc.series?.train ?? []).some((p) => typeof p.loss === 'number' && Number.isFinite(p.loss))).sort((a, b) => cmp(runName(a), runName(b)) || a.id - b.id);
  if (runs.length === 0) return null;
  const values = runs.flatMap((r) =>
    r.doc.series!.train!.filter((p) => typeof p.loss === 'number' && Number.isFinite(p.loss)).map((p) => ({ run: `${runName(r)} [#${r.id}]`, step: p.step, loss: p.loss })),
  );
  return {
    id: 'figure-2',
    title: 'Figure 2 — training curves',
    caption: 'Training loss (nats per token, the objective including the early-exit terms) per optimizer step, per run and phase (train results, `series.train`).',
    expect: { markClass: 'mark-line', count: runs.length },
    spec: {
      ...BASE,
      data: { values },
      mark: { type: 'line', strokeWidth: 1.5 },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'step' },
        y: { field: 'loss', type: 'quantitative', title: 'train loss', scale: { zero: false } },
        color: { field: 'run', type: 'nominal', title: 'run', sort: null },
      },
    } as TopLevelSpec,
    sources: runs,
  };
}

/** Quality loss vs speed gain per exit: bench decode `fixedExit` (its quality loss, else the eval exits' perplexities). */
export function tradeoffFigure(all: readonly LoadedResult[]): Figure | null {
  const decs = all.filter((r) => r.role === 'decode' && ((r.doc.metrics as DecodeMetrics).fixedExit ?? []).length > 0).sort((a, b) => a.id - b.id);
  const values: Array<{ run: string; exit: number; speedGain: number; qualityLoss: number }> = [];
  const sources: LoadedResult[] = [];
  for (const d of decs) {
    const c = d.doc.config as DecodeConfig;
    const run = c.run ?? `(${c.preset}) ${c.variant}`;
    const ev = c.run === null ? undefined : all.find((r) => r.role === 'eval' && r.doc.suite === c.run);
    const exits = ev === undefined ? [] : (ev.doc.metrics as EvalMetrics).exits;
    const full = [...exits].sort((a, b) => b.layer - a.layer)[0];
    sources.push(d);
    if (ev !== undefined) sources.push(ev);
    for (const f of (d.doc.metrics as DecodeMetrics).fixedExit!) {
      const fromEval = exits.find((e) => e.layer === f.exitLayer);
      const q = f.qualityLoss ?? (fromEval !== undefined && full !== undefined ? fromEval.perplexity / full.perplexity - 1 : null);
      if (q === null) continue;
      values.push({ run: `${run} [#${d.id}]`, exit: f.exitLayer, speedGain: f.speedGain * 100, qualityLoss: q * 100 });
    }
  }
  if (values.length === 0) return null;
  values.sort((a, b) => cmp(a.run, b.run) || a.exit - b.exit);
  return {
    id: 'figure-3',
    title: 'Figure 3 — quality loss vs speed gain per exit layer',
    caption: 'Each point is one exit layer E (labelled): speed gain tps(E)/tps(L) − 1 (bench decode) against quality loss ppl(E)/ppl(L) − 1 (bench decode, else the eval result of the same run), in percent.',
    expect: { markClass: 'mark-symbol', count: values.length },
    spec: {
      ...BASE,
      data: { values },
      layer: [
        {
          mark: { type: 'point', filled: true, size: 60 },
          encoding: {
            x: { field: 'speedGain', type: 'quantitative', title: 'speed gain (%)' },
            y: { field: 'qualityLoss', type: 'quantitative', title: 'quality loss (%)' },
            color: { field: 'run', type: 'nominal', title: 'run', sort: null },
          },
        },
        {
          mark: { type: 'text', dx: 8, align: 'left', fontSize: 10 },
          encoding: { x: { field: 'speedGain', type: 'quantitative' }, y: { field: 'qualityLoss', type: 'quantitative' }, text: { field: 'exit', type: 'quantitative' } },
        },
      ],
    } as TopLevelSpec,
    sources,
  };
}

/** Kernel throughput: matmul GFLOP/s (median) per backend and threads, per shape; the newest result per machine. */
export function kernelsFigure(all: readonly LoadedResult[]): Figure | null {
  const ks = all.filter((r) => r.role === 'kernels' && (r.doc.metrics as KernelsMetrics).matmul.length > 0);
  if (ks.length === 0) return null;
  const machines = new Set(ks.map(machine));
  // For each (machine, backend, threads, shape): the NN-layout row (else the first layout, sorted) of the newest result that has it.
  const newestFirst = [...ks].sort((a, b) => cmp(b.doc.meta.time, a.doc.meta.time) || b.id - a.id);
  const picked = new Map<string, { label: string; shape: string; gflops: number; src: LoadedResult }>();
  for (const r of newestFirst) {
    const rowsSorted = [...(r.doc.metrics as KernelsMetrics).matmul].sort((a, b) => (a.layout === 'NN' ? 0 : 1) - (b.layout === 'NN' ? 0 : 1) || cmp(a.layout, b.layout));
    for (const m of rowsSorted) {
      const label = `${m.backend} ×${m.threads}${machines.size > 1 ? ` [${machine(r)}]` : ''}`;
      const key = `${label}\u0000${m.shape.name}`;
      if (!picked.has(key)) picked.set(key, { label, shape: m.shape.name, gflops: m.gflops.median, src: r });
    }
  }
  const values = [...picked.values()].sort((a, b) => cmp(a.label, b.label) || cmp(a.shape, b.shape)).map((v) => ({ backend: v.label, shape: v.shape, gflops: v.gflops, src: `#${v.src.id}` }));
  const sources = [...new Set([...picked.values()].map((v) => v.src))].sort((a, b) => a.id - b.id);
  return {
    id: 'figure-4',
    title: 'Figure 4 — matmul kernel throughput per backend',
    caption: `Median GFLOP/s of fp32 matmul per backend and thread count, per shape (bench kernels results; NN layout where measured; for each backend, threads and shape the newest result${machines.size > 1 ? ' of each machine' : ''}: ${sources.map((s) => `#${s.id}`).join(' ')}).`,
    expect: { markClass: 'mark-rect', count: values.length },
    spec: {
      ...BASE,
      height: { step: 7 },
      data: { values },
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'backend', type: 'nominal', title: null, sort: null, axis: { labelLimit: 360 } },
        yOffset: { field: 'shape', type: 'nominal', sort: null },
        x: { field: 'gflops', type: 'quantitative', title: 'GFLOP/s (median)' },
        color: { field: 'shape', type: 'nominal', title: 'shape', sort: null },
      },
    } as TopLevelSpec,
    sources,
  };
}

/** Training-step throughput: tokens/s (median) per backend; the newest bench step result per machine. */
export function stepFigure(all: readonly LoadedResult[]): Figure | null {
  const ss = all.filter((r) => r.role === 'step' && (r.doc.metrics as StepMetrics).runs.length > 0);
  if (ss.length === 0) return null;
  const machines = new Set(ss.map(machine));
  const newestFirst = [...ss].sort((a, b) => cmp(b.doc.meta.time, a.doc.meta.time) || b.id - a.id);
  const picked = new Map<string, { label: string; tps: number; src: LoadedResult }>();
  for (const r of newestFirst)
    for (const run of (r.doc.metrics as StepMetrics).runs) {
      const label = `${run.backend}${machines.size > 1 ? ` [${machine(r)}]` : ''}`;
      if (!picked.has(label)) picked.set(label, { label, tps: run.tokensPerSecond.median, src: r });
    }
  const values = [...picked.values()].sort((a, b) => cmp(a.label, b.label)).map((v) => ({ backend: v.label, tokensPerSecond: v.tps, src: `#${v.src.id}` }));
  const sources = [...new Set([...picked.values()].map((v) => v.src))].sort((a, b) => a.id - b.id);
  return {
    id: 'figure-5',
    title: 'Figure 5 — training-step throughput per backend',
    caption: `Training tokens per second (median) of the bench step model per backend (for each backend${machines.size > 1 ? ' and machine' : ''} the newest bench step result: ${sources.map((s) => `#${s.id}`).join(' ')}).`,
    expect: { markClass: 'mark-rect', count: values.length },
    spec: {
      ...BASE,
      height: { step: 22 },
      data: { values },
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'backend', type: 'nominal', title: null, sort: null, axis: { labelLimit: 360 } },
        x: { field: 'tokensPerSecond', type: 'quantitative', title: 'tokens/s (median)' },
      },
    } as TopLevelSpec,
    sources,
  };
}

export function allFigures(all: readonly LoadedResult[]): Figure[] {
  return [activationFigure(all), trainingCurves(all), tradeoffFigure(all), kernelsFigure(all), stepFigure(all)].filter((f): f is Figure => f !== null);
}

/** Rename every id="…" in an SVG (and its url(#…) / href="#…" references) to `<prefix>-<n>` in order of appearance. */
export function renameSvgIds(svg: string, prefix: string): string {
  const ids = new Map<string, string>();
  for (const m of svg.matchAll(/\sid="([^"]+)"/g)) if (!ids.has(m[1]!)) ids.set(m[1]!, `${prefix}-${ids.size + 1}`);
  if (ids.size === 0) return svg;
  return svg
    .replace(/(\sid=")([^"]+)(")/g, (_, a: string, id: string, b: string) => `${a}${ids.get(id) ?? id}${b}`)
    .replace(/url\(#([^)]+)\)/g, (s, id: string) => (ids.has(id) ? `url(#${ids.get(id)})` : s))
    .replace(/(href=")#([^"]+)(")/g, (s, a: string, id: string, b: string) => (ids.has(id) ? `${a}#${ids.get(id)}${b}` : s));
}

/** Check the font file exists (one clear line otherwise). */
export function checkFont(fontFile: string): void {
  if (!existsSync(fontFile)) throw new ReportError(`font ${fontFile} is missing: the PNG figures need it (Debian: apt-get install fonts-dejavu-core; or set BITSKIP_REPORT_FONT to a .ttf file)`);
}

/** Render one figure to SVG (vega, headless) and PNG (resvg with only `fontFile`). */
export async function renderFigure(f: Figure, fontFile: string): Promise<RenderedFigure> {
  const compiled = compile(f.spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  svg = renameSvgIds(svg, f.id);
  const png = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: 1.5 },
    font: { fontFiles: [fontFile], loadSystemFonts: false, defaultFontFamily: FONT_FAMILY, sansSerifFamily: FONT_FAMILY },
  })
    .render()
    .asPng();
  return { ...f, svg, png: new Uint8Array(png) };
}
