#!/usr/bin/env node
// device-bundle: packs the bench app into one folder that runs on a machine without Node.js, pnpm or network
// (the project's GPU device machine), to measure gpu.js's `webgpu` mode there through Dawn's Vulkan backend.
//
//   node apps/bench/scripts/device-bundle.mjs [--out DIR] [--node PATH] [--skip-node]
//
// Writes DIR (default: .device at the root of the checkout holding this script; keep it out of git, e.g. with
// `/.device/` in .git/info/exclude):
//   bench.mjs      the bench app in one ESM file (esbuild, platform node, target node20), the @bitskip/*
//                  workspace packages inlined from their src/ (WASM kernels generated first); gpu.js, webgpu and
//                  gl stay external
//   node_modules/  flat real files: gpu.js and its runtime dependencies (without gl: headless-gl needs a
//                  display), webgpu (Dawn) with only dist/linux-x64, its dawn.node as dawn.node.xz (21 → ~5 MiB;
//                  run.sh unpacks it, and every other *.xz but node.xz, in place)
//   node.xz        the Node binary (default: the one running this script), xz -9; kept when up to date
//   lib/           this machine's libstdc++.so.6 (.xz), used by run.sh only where the device's lacks GLIBCXX_3.4.30
//                  (dawn.node needs it)
//   run.sh         what to run there, from the checkout's root: `bash .device/run.sh` (a copy of device-run.sh
//                  beside this script; see its header)
//   BUILD.txt      the source commit and how the bundle was made
// The Vulkan loader is not in here: fetch it into .gl/ as the device notes say (apt-get download libvulkan1 ...);
// run.sh unpacks .gl/*.deb when it is there. Carry both folders: carry [".device", ".gl"].
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync, chmodSync, copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const benchDir = join(root, 'apps/bench');
const tensorCoreDir = join(root, 'packages/tensor-core');

function parseArgs(argv) {
  const o = { out: join(root, '.device'), node: process.execPath, skipNode: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') o.out = argv[++i];
    else if (a === '--node') o.node = argv[++i];
    else if (a === '--skip-node') o.skipNode = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write('Usage: node apps/bench/scripts/device-bundle.mjs [--out DIR] [--node PATH] [--skip-node]\n');
      process.exit(0);
    } else throw new Error(`device-bundle: unknown option ${a}`);
  }
  if (o.out === undefined || o.node === undefined) throw new Error('device-bundle: --out and --node take a value');
  return o;
}

const log = (msg) => process.stderr.write(`device-bundle: ${msg}\n`);

function duBytes(p) {
  const st = statSync(p);
  if (!st.isDirectory()) return st.size;
  return readdirSync(p).reduce((s, f) => s + duBytes(join(p, f)), 0);
}
const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/** 1. The generated WASM module the bundle imports (tensor-core's kernels: the one WASM runtime, quant's included). */
function buildWasm() {
  for (const pkg of ['tensor-core']) {
    const script = join(root, 'packages', pkg, 'scripts/build-wasm.mjs');
    const r = spawnSync(process.execPath, [script], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`device-bundle: ${relative(root, script)} failed (${r.status ?? r.signal})`);
  }
}

/** 2. bench.mjs: apps/bench/src/main.ts with the workspace packages inlined from src/. */
async function bundle(out) {
  // esbuild is a devDependency of the bench app.
  const require = createRequire(join(root, 'apps/bench/package.json'));
  const esbuild = await import(require.resolve('esbuild'));
  // @bitskip/<pkg> → packages/<pkg>/src/index.ts, @bitskip/<pkg>/<sub> → packages/<pkg>/src/<sub>.ts (as vitest does).
  const workspaceSrc = {
    name: 'bitskip-src',
    setup(b) {
      b.onResolve({ filter: /^@bitskip\/[a-z0-9-]+(\/[a-z0-9-]+)?$/ }, (args) => {
        const [, pkg, sub] = /^@bitskip\/([a-z0-9-]+)(?:\/([a-z0-9-]+))?$/.exec(args.path);
        const file = join(root, 'packages', pkg, 'src', `${sub ?? 'index'}.ts`);
        if (!existsSync(file)) return { errors: [{ text: `${args.path}: no ${relative(root, file)}` }] };
        return { path: file };
      });
    },
  };
  const outfile = join(out, 'bench.mjs');
  const result = await esbuild.build({
    entryPoints: [join(benchDir, 'src/main.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['gpu.js', 'webgpu', 'gl'],
    plugins: [workspaceSrc],
    // Inlined CommonJS (if any) calls require(); an ESM file has none of its own.
    banner: { js: "import { createRequire as __bitskipCreateRequire } from 'node:module';\nconst require = __bitskipCreateRequire(import.meta.url);" },
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  const inputs = Object.keys(result.metafile.inputs);
  const missing = ['packages/tensor-core/src/backends/wasm/generated/kernels.ts'].filter((f) => !inputs.includes(f));
  if (missing.length > 0) throw new Error(`device-bundle: the bundle lacks ${missing.join(', ')}`);
  log(`bench.mjs: ${inputs.length} inputs, ${mib(statSync(outfile).size)}`);
}

/** The folder of package `name` as seen from package folder `from` (Node's lookup: node_modules up the tree). */
function findPackage(from, name) {
  for (let d = from; ; d = dirname(d)) {
    if (basename(d) !== 'node_modules') {
      const c = join(d, 'node_modules', name);
      if (existsSync(join(c, 'package.json'))) return realpathSync(c);
    }
    if (dirname(d) === d) return null;
  }
}

/** 3. node_modules/: the external packages and what they need at run time, flat, as real files. */
function copyModules(out) {
  const skip = new Map([['gl', 'headless-gl: needs a display and native GL; not run on the device']]);
  const roots = [
    { name: 'gpu.js', dir: findPackage(benchDir, 'gpu.js') },
    { name: 'webgpu', dir: findPackage(tensorCoreDir, 'webgpu') },
  ];
  const placed = new Map(); // name → { dir, version }
  const queue = [...roots];
  while (queue.length > 0) {
    const { name, dir, by } = queue.shift();
    if (dir === null) throw new Error(`device-bundle: cannot find ${name}${by ? ` (needed by ${by})` : ''}`);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const had = placed.get(name);
    if (had !== undefined) {
      if (had.dir !== dir) log(`skipped ${name}@${pkg.version} (needed by ${by}): ${name}@${had.version} is already placed; one flat copy per name`);
      continue;
    }
    placed.set(name, { dir, version: pkg.version });
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      if (skip.has(dep)) {
        log(`skipped ${dep} (needed by ${name}): ${skip.get(dep)}`);
        continue;
      }
      const d = findPackage(dir, dep);
      if (d === null && pkg.optionalDependencies?.[dep] !== undefined) continue;
      queue.push({ name: dep, dir: d, by: `${name}@${pkg.version}` });
    }
  }
  const nm = join(out, 'node_modules');
  for (const [name, { dir, version }] of placed) {
    const dst = join(nm, name);
    const webgpuDist = join(dir, 'dist');
    cpSync(dir, dst, {
      recursive: true,
      dereference: true,
      filter: (src) => {
        if (relative(dir, src).split(sep).includes('node_modules')) return false;
        // webgpu: Dawn for linux-x64 only (the other platforms are ~110 MB).
        if (name === 'webgpu' && dirname(src) === webgpuDist && basename(src) !== 'linux-x64') return false;
        return true;
      },
    });
    log(`node_modules/${name}@${version}: ${mib(duBytes(dst))}`);
  }
  const dawn = join(nm, 'webgpu/dist/linux-x64/dawn.node');
  if (!existsSync(dawn)) throw new Error('device-bundle: webgpu/dist/linux-x64/dawn.node is missing');
  xzInPlace(dawn);
  return [...placed].map(([n, { version }]) => `${n}@${version}`);
}

/** Replace `file` by `file.xz` (xz -9, one thread, low priority); run.sh unpacks every *.xz but node.xz in place. */
function xzInPlace(file) {
  const size = statSync(file).size;
  execFileSync('nice', ['-n', '19', 'xz', '-9', '-T1', file], { stdio: 'inherit' });
  log(`${relative(root, file)}: ${mib(size)} → ${mib(statSync(`${file}.xz`).size)} as .xz (unpacked by run.sh)`);
}

/** 4. node.xz: the Node binary, compressed (xz -9, one thread, at low priority); reused when up to date. */
function packNode(out, nodePath) {
  const xzFile = join(out, 'node.xz');
  const stampFile = join(out, 'node.xz.source');
  const st = statSync(nodePath);
  const version = execFileSync(nodePath, ['--version'], { encoding: 'utf8' }).trim();
  const stamp = `${realpathSync(nodePath)} ${version} ${st.size} ${st.mtimeMs}\n`;
  if (existsSync(xzFile) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) {
    log(`node.xz: up to date (${version}, ${mib(statSync(xzFile).size)})`);
    return version;
  }
  log(`node.xz: compressing ${nodePath} (${version}, ${mib(st.size)}); takes a minute or two`);
  rmSync(xzFile, { force: true });
  execFileSync('sh', ['-c', 'nice -n 19 xz -9 -T1 -c "$1" >"$2.tmp" && mv "$2.tmp" "$2"', 'sh', nodePath, xzFile], { stdio: 'inherit' });
  writeFileSync(stampFile, stamp);
  log(`node.xz: ${mib(statSync(xzFile).size)}`);
  return version;
}

/** 5. lib/libstdc++.so.6: a fallback for a device whose libstdc++ is older than dawn.node needs. */
function copyLibstdcxx(out) {
  const src = ['/usr/lib/x86_64-linux-gnu/libstdc++.so.6', '/lib/x86_64-linux-gnu/libstdc++.so.6', '/usr/lib64/libstdc++.so.6'].find((p) => existsSync(p));
  if (src === undefined) {
    log('no libstdc++.so.6 found here: lib/ left out');
    return;
  }
  mkdirSync(join(out, 'lib'), { recursive: true });
  copyFileSync(realpathSync(src), join(out, 'lib/libstdc++.so.6'));
  xzInPlace(join(out, 'lib/libstdc++.so.6'));
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  mkdirSync(o.out, { recursive: true });
  for (const f of ['bench.mjs', 'node_modules', 'lib', 'run.sh', 'BUILD.txt']) rmSync(join(o.out, f), { recursive: true, force: true });
  buildWasm();
  await bundle(o.out);
  const modules = copyModules(o.out);
  copyLibstdcxx(o.out);
  let node;
  if (!o.skipNode) node = packNode(o.out, o.node);
  else if (existsSync(join(o.out, 'node.xz'))) node = `(node.xz kept as it was: --skip-node) ${readFileSync(join(o.out, 'node.xz.source'), 'utf8').trim()}`;
  else throw new Error(`device-bundle: --skip-node, but ${join(o.out, 'node.xz')} does not exist`);
  copyFileSync(join(benchDir, 'scripts/device-run.sh'), join(o.out, 'run.sh'));
  chmodSync(join(o.out, 'run.sh'), 0o755);
  const git = (args, cwd) => {
    try {
      return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const sha = git(['rev-parse', 'HEAD'], root) ?? 'unknown';
  const dirty = (git(['status', '--porcelain'], root) ?? '') === '' ? '' : ' (dirty)';
  writeFileSync(join(o.out, 'BUILD.txt'), `bitskip device bundle: source ${sha}${dirty} (${root}), built ${new Date().toISOString()}\nnode ${node}; modules ${modules.join(' ')}\n`);
  // The bundle must not be committed: warn when git would pick it up.
  const outDir = dirname(o.out);
  if (git(['rev-parse', '--is-inside-work-tree'], outDir) === 'true' && git(['check-ignore', '-q', o.out], outDir) === null) {
    log(`warning: ${o.out} is not ignored by git there (add /${basename(o.out)}/ to .git/info/exclude)`);
  }
  log(`${o.out}: ${mib(duBytes(o.out))} in all`);
}

await main();
