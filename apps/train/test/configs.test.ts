// Every committed recipe resolves (validated keys, a model config that builds), and the study's runs are exactly
// the committed phase configs, with phase 2 the stabilised recipe relative to phase 1 (SPEC §7).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRESET_RECIPES, modelConfigOf, plannedSteps } from '../src/config.js';
import { CONFIG_DIR, STUDY_RUNS, loadConfigFile } from '../src/study.js';

describe('committed configs', () => {
  const files = readdirSync(CONFIG_DIR).filter((f) => f.endsWith('.json'));

  it('each one resolves to a recipe whose model builds', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const f of files) {
      const c = loadConfigFile(join(CONFIG_DIR, f));
      const m = modelConfigOf(c, c.data.vocabSize);
      expect(m.variant).toBe(f.replace(/^.*-/, '').replace('.json', ''));
      expect(plannedSteps(c)).toBeGreaterThan(0);
    }
  });

  it('the study runs are the phase configs; phase 2 halves lr, quadruples warm-up and tightens the clip', () => {
    for (const r of STUDY_RUNS) expect(files).toContain(`${r}.json`);
    for (const v of ['v2', 'v3']) {
      const p1 = loadConfigFile(join(CONFIG_DIR, `phase1-${v}.json`), PRESET_RECIPES.study);
      const p2 = loadConfigFile(join(CONFIG_DIR, `phase2-${v}.json`), PRESET_RECIPES.study);
      expect(p2.optim.lr).toBeCloseTo(p1.optim.lr / 2, 12);
      expect(p2.optim.warmupSteps).toBe(p1.optim.warmupSteps * 4);
      expect(p2.optim.clip).toBeLessThan(p1.optim.clip);
      expect(modelConfigOf(p1, 1024).numLayers).toBe(24); // exits 6/12/18/24 mirror the paper
    }
    // Phase 1 is one shared recipe: the four variants differ only in the variant.
    const p1 = ['baseline', 'v1', 'v2', 'v3'].map((v) => loadConfigFile(join(CONFIG_DIR, `phase1-${v}.json`), PRESET_RECIPES.study));
    const strip = (c: (typeof p1)[number]): unknown => ({ ...c, model: { ...c.model, variant: null } });
    for (const c of p1) expect(strip(c)).toEqual(strip(p1[0]!));
  });
});
