// What the `.wasm` is made of: code bytes by crate, read from the name
// section of the module rustc and wasm-ld wrote (before wasm-bindgen and
// wasm-opt, which drop the names), and the shipped module's sizes (raw, gzip
// -9, brotli -11). A command that prints figures, not a test.
//
//   node bench/wasm-size.mjs [--top N] [--crate NAME [--depth D]] [LINKED] [SHIPPED]
//
// LINKED defaults to $CARGO_TARGET_DIR (else cargo's target/ at the top) +
// /wasm32-unknown-unknown/release/recagent.wasm,
// SHIPPED to pkg/recagent_bg.wasm: both as `scripts/serve.sh --build` leaves
// them (`scripts/bench.sh size` builds first). `--crate tract_core --depth 3`
// splits one crate by module path instead.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const value = args[i + 1];
  args.splice(i, 2);
  return value;
};
const top = Number(option('--top', '20'));
const onlyCrate = option('--crate', null);
const depth = Number(option('--depth', '2'));
const targetDir = process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target');
const linkedPath = args[0] ?? path.join(targetDir, 'wasm32-unknown-unknown', 'release', 'recagent.wasm');
const shippedPath = args[1] ?? path.join(ROOT, 'pkg', 'recagent_bg.wasm');
for (const f of [linkedPath, shippedPath]) {
  if (!fs.existsSync(f)) {
    console.error(`wasm-size: ${f} is missing; build first (scripts/serve.sh --build, or scripts/bench.sh size)`);
    process.exit(1);
  }
}

/** LEB128 unsigned at `i`: [value, next index]. */
function uleb(b, i) {
  let result = 0;
  let shift = 0;
  for (;;) {
    const x = b[i++];
    result += (x & 0x7f) * 2 ** shift;
    shift += 7;
    if (x < 0x80) return [result, i];
  }
}

/** Sections, function bodies' sizes (defined functions, in order), names by function index. */
function readModule(bytes) {
  const sections = [];
  let i = 8;
  while (i < bytes.length) {
    const id = bytes[i++];
    let size;
    [size, i] = uleb(bytes, i);
    let name = '';
    if (id === 0) {
      const [len, j] = uleb(bytes, i);
      name = bytes.subarray(j, j + len).toString('utf8');
    }
    sections.push({ id, name, start: i, size });
    i += size;
  }
  let functionImports = 0;
  const bodies = [];
  const names = new Map();
  for (const s of sections) {
    const b = bytes.subarray(s.start, s.start + s.size);
    if (s.id === 2) {
      let [n, j] = uleb(b, 0);
      for (let k = 0; k < n; k++) {
        let len;
        [len, j] = uleb(b, j); j += len;
        [len, j] = uleb(b, j); j += len;
        const kind = b[j++];
        if (kind === 0) { [, j] = uleb(b, j); functionImports++; }
        else if (kind === 1) { j++; let flags; [flags, j] = uleb(b, j); [, j] = uleb(b, j); if (flags & 1) [, j] = uleb(b, j); }
        else if (kind === 2) { let flags; [flags, j] = uleb(b, j); [, j] = uleb(b, j); if (flags & 1) [, j] = uleb(b, j); }
        else if (kind === 3) j += 2;
        else if (kind === 4) { j++; [, j] = uleb(b, j); }
      }
    } else if (s.id === 10) {
      let [n, j] = uleb(b, 0);
      for (let k = 0; k < n; k++) {
        const [len, after] = uleb(b, j);
        bodies.push(len + (after - j));
        j = after + len;
      }
    } else if (s.id === 0 && s.name === 'name') {
      let [len, j] = uleb(b, 0);
      j += len;
      while (j < b.length) {
        const sub = b[j++];
        let subLen;
        [subLen, j] = uleb(b, j);
        const end = j + subLen;
        if (sub === 1) {
          let [n, k] = uleb(b, j);
          for (let m = 0; m < n; m++) {
            let index, l2;
            [index, k] = uleb(b, k);
            [l2, k] = uleb(b, k);
            names.set(index, b.subarray(k, k + l2).toString('utf8'));
            k += l2;
          }
        }
        j = end;
      }
    }
  }
  return { sections, functionImports, bodies, names };
}

const ESCAPES = { '$LT$': '<', '$GT$': '>', '$RF$': '&', '$BP$': '*', '$SP$': '@', '$C$': ',', '$u20$': ' ',
  '$u27$': "'", '$u5b$': '[', '$u5d$': ']', '$u7b$': '{', '$u7d$': '}', '$u3b$': ';', '$u21$': '!', '$u22$': '"', '$u7e$': '~' };

/** The path of a legacy-mangled Rust symbol (`_ZN…E`), components joined by `::`; other names as they are. */
function demangle(symbol) {
  if (!symbol.startsWith('_ZN')) return symbol;
  const parts = [];
  let i = 3;
  while (i < symbol.length && symbol[i] !== 'E') {
    let j = i;
    while (j < symbol.length && symbol[j] >= '0' && symbol[j] <= '9') j++;
    const len = Number(symbol.slice(i, j));
    if (!len) break;
    let part = symbol.slice(j, j + len);
    i = j + len;
    if (/^h[0-9a-f]{16}$/.test(part)) continue;
    if (part.startsWith('_$')) part = part.slice(1);
    part = part.replace(/\$(LT|GT|RF|BP|SP|C|u[0-9a-f]{2})\$/g, (m) => ESCAPES[m] ?? m).replaceAll('..', '::');
    parts.push(part);
  }
  return parts.join('::');
}

/** The crate a function belongs to: the first path segment, looking through `<impl …>` / `<T as …>`. */
function crateOf(name) {
  let head = name.replace(/^[<&*\[( ]+/, '').replace(/^(impl|dyn|mut|const) /, '').replace(/^[<&*\[( ]+/, '');
  // `<T as Trait>::f`, `<[T] as Trait>::f`: a blanket impl, the trait's crate
  const blanket = head.match(/^[A-Z][A-Za-z0-9_]*[\]>]* as (.*)$/);
  if (blanket) head = blanket[1].replace(/^[<&*\[( ]+/, '');
  const m = head.match(/^([A-Za-z_][A-Za-z0-9_]*)/);
  if (!m || !name.includes('::')) return '(glue, shims, libc)';
  return m[1];
}

function modulePath(name, d) {
  return name.replace(/^[<&*\[( ]+/, '').replace(/^impl /, '').replace(/<.*$/, '').split('::').slice(0, d).join('::');
}

const linked = fs.readFileSync(linkedPath);
const { sections, functionImports, bodies, names } = readModule(linked);
if (names.size === 0) {
  console.error(`wasm-size: ${linkedPath} has no name section (was it stripped?)`);
  process.exit(1);
}
const byKey = new Map();
let total = 0;
bodies.forEach((size, k) => {
  const name = demangle(names.get(functionImports + k) ?? '?');
  const crate = crateOf(name);
  if (onlyCrate && crate !== onlyCrate) return;
  const key = onlyCrate ? modulePath(name, depth) : crate;
  const entry = byKey.get(key) ?? { bytes: 0, functions: 0 };
  entry.bytes += size;
  entry.functions += 1;
  byKey.set(key, entry);
  total += size;
});

const shipped = fs.readFileSync(shippedPath);
const gzip = zlib.gzipSync(shipped, { level: 9 }).length;
const brotli = zlib.brotliCompressSync(shipped, {
  params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: shipped.length },
}).length;
const kib = (n) => `${Math.round(n / 1024).toLocaleString('en-US')} KiB`;
console.log(`shipped ${path.relative(process.cwd(), shippedPath) || shippedPath}: ${shipped.length.toLocaleString('en-US')} bytes raw, ${kib(gzip)} gzip -9, ${kib(brotli)} brotli -11 (${brotli.toLocaleString('en-US')} bytes)`);
const sectionSize = (id) => sections.filter((s) => s.id === id).reduce((a, s) => a + s.size, 0);
console.log(`linked ${linkedPath}: code ${sectionSize(10).toLocaleString('en-US')} bytes, data ${sectionSize(11).toLocaleString('en-US')}, names and other custom sections ${sectionSize(0).toLocaleString('en-US')} (before wasm-bindgen and wasm-opt: the shipped code is smaller, the shares hold)`);
console.log('');
const heading = onlyCrate ? `${onlyCrate}, by module (depth ${depth})` : 'crate';
console.log(`${'code bytes'.padStart(12)} ${'share'.padStart(6)} ${'functions'.padStart(9)}  ${heading}`);
const rows = [...byKey].sort((a, b) => b[1].bytes - a[1].bytes);
for (const [key, { bytes, functions }] of rows.slice(0, top)) {
  console.log(`${bytes.toLocaleString('en-US').padStart(12)} ${((100 * bytes) / total).toFixed(1).padStart(5)}% ${String(functions).padStart(9)}  ${key}`);
}
const rest = rows.slice(top).reduce((a, [, e]) => a + e.bytes, 0);
if (rest) console.log(`${rest.toLocaleString('en-US').padStart(12)} ${((100 * rest) / total).toFixed(1).padStart(5)}% ${String(rows.length - top).padStart(9)}  (the other ${rows.length - top})`);
console.log(`${total.toLocaleString('en-US').padStart(12)} 100.0%            total`);
