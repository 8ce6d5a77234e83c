// Where the bytes of a .wasm go: its code section by function, ranked, and summed by the
// crate a function's symbol names. Reads the `name` section, so give it a build that keeps
// names: cargo's own output before wasm-bindgen and wasm-opt, e.g.
//
//   node benches/wasm-sizes.mjs target/wasm32-unknown-unknown/release/edge402.wasm [TOP]
//
// Sizes are of function bodies before wasm-bindgen (which drops the `__wbindgen_describe*`
// functions, "(wasm-bindgen glue)" here) and wasm-opt (which shrinks the rest by about a
// tenth). A generic function is named after the crate that defines it (`serde_core`,
// `js_sys`) while its copies are compiled into the crate that uses it: read the list by
// function as well as by crate.

import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node benches/wasm-sizes.mjs FILE.wasm [TOP]');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const bytes = readFileSync(file);

/** Reads an unsigned LEB128 at `at`: [value, next offset]. */
function leb(at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
}

/** Skips a name (length-prefixed bytes) at `at`. */
const skipName = (at) => {
  const [length, next] = leb(at);
  return next + length;
};

let importedFunctions = 0;
const bodySizes = [];
const names = new Map();
for (let at = 8; at < bytes.length;) {
  const id = bytes[at];
  const [size, start] = leb(at + 1);
  const end = start + size;
  if (id === 2) {
    // Imports: only imported functions shift the function index space.
    let [count, p] = leb(start);
    for (; count > 0; count -= 1) {
      p = skipName(skipName(p));
      const kind = bytes[p++];
      if (kind === 0) {
        importedFunctions += 1;
        [, p] = leb(p);
      } else if (kind === 1) {
        p += 1;
        const [flags, q] = leb(p);
        [, p] = leb(q);
        if (flags & 1) [, p] = leb(p);
      } else if (kind === 2) {
        const [flags, q] = leb(p);
        [, p] = leb(q);
        if (flags & 1) [, p] = leb(p);
      } else if (kind === 3) {
        p += 2;
      } else if (kind === 4) {
        p += 1;
        [, p] = leb(p);
      }
    }
  } else if (id === 10) {
    let [count, p] = leb(start);
    for (; count > 0; count -= 1) {
      const [length, body] = leb(p);
      bodySizes.push(body - p + length);
      p = body + length;
    }
  } else if (id === 0) {
    const [length, p] = leb(start);
    if (bytes.toString('utf8', p, p + length) === 'name') {
      for (let q = p + length; q < end;) {
        const kind = bytes[q];
        const [subsize, sub] = leb(q + 1);
        if (kind === 1) {
          let [count, r] = leb(sub);
          for (; count > 0; count -= 1) {
            const [index, s] = leb(r);
            const [nameLength, t] = leb(s);
            names.set(index, bytes.toString('utf8', t, t + nameLength));
            r = t + nameLength;
          }
        }
        q = sub + subsize;
      }
    }
  }
  at = end;
}
if (names.size === 0) {
  console.error(`${file} has no name section: give it cargo's output, before wasm-bindgen and wasm-opt`);
  process.exit(1);
}

/**
 * The crate a (legacy- or v0-mangled) symbol names first: for an impl (`<Type as Trait>`),
 * the crate of its type; otherwise the symbol's first path segment.
 */
function crateOf(symbol) {
  const impl = symbol.match(/^_ZN\d+_\$LT\$(?:\$RF\$|\$BP\$|mut\$u20\$)*([A-Za-z_][A-Za-z0-9_]*)\.\./);
  if (impl) return impl[1];
  const legacy = symbol.match(/^_ZN(\d+)([A-Za-z_][A-Za-z0-9_]*)/);
  if (legacy) return legacy[2].slice(0, Number(legacy[1]));
  const v0 = symbol.match(/Cs[0-9A-Za-z_]+_(\d+)([a-z_][a-z0-9_]*)/);
  if (v0) return v0[2].slice(0, Number(v0[1]));
  return symbol.startsWith('__wbindgen') ? '(wasm-bindgen glue)' : '(other)';
}

const functions = bodySizes.map((size, i) => ({ size, name: names.get(i + importedFunctions) ?? `#${i}` }));
const total = functions.reduce((sum, f) => sum + f.size, 0);
const byCrate = new Map();
for (const f of functions) {
  const crate = crateOf(f.name);
  byCrate.set(crate, (byCrate.get(crate) ?? 0) + f.size);
}
const percent = (size) => `${((100 * size) / total).toFixed(1).padStart(5)} %`;
console.log(`${file}: ${functions.length} functions, ${total} bytes of code`);
console.log('\nby crate (as the symbol names it)');
for (const [crate, size] of [...byCrate].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${String(size).padStart(9)}  ${percent(size)}  ${crate}`);
}
console.log(`\nthe ${top} largest functions`);
for (const f of functions.sort((a, b) => b.size - a.size).slice(0, top)) {
  console.log(`${String(f.size).padStart(9)}  ${percent(f.size)}  ${f.name.slice(0, 140)}`);
}
