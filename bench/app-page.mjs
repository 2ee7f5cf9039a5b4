// Application benchmark page: recagent as an app uses it (Recommender from
// URLs, recommend, ask), and onnxruntime-web's cold start on the same model.
// Driven by bench/app-run.mjs; the mode is in the query string:
//
//   ?mode=recagent        cold start: import the package, init(), Recommender.create
//                         from URLs (ML-100K catalog, MiniLM, vocab; Cache API),
//                         recommend({ k: 10 }), render the list
//   ?mode=ort&ids=1,2,3   cold start of the peer: import onnxruntime-web,
//                         InferenceSession.create from the model bytes (read
//                         through the Cache API the same way), first embedding
//   ?mode=lab             exposes window.lab (100k catalog, ask) for the driver
//
// Served from the repository root by bench/server.mjs (no-store: the HTTP
// cache never answers, so a second visit is helped by the Cache API only).
// Every figure is performance.now(): ms since this page's navigation started.

const ORT_DIST = '/bench/node_modules/onnxruntime-web/dist/';
const FILES = {
  catalog: '/assets/catalog/ml-100k.rcat',
  textModel: '/assets/minilm-int8.onnx',
  vocab: '/assets/vocab.txt',
};
/** Cache of the onnxruntime-web page (the Cache API, like recagent's `recagent-v1`). */
const ORT_CACHE = 'ort-bench-v1';
const params = new URLSearchParams(location.search);
const mode = params.get('mode');

const status = (text) => {
  document.getElementById('status').textContent = text;
};
const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

function render(lines) {
  const list = document.getElementById('list');
  list.replaceChildren(
    ...lines.map((text) => {
      const li = document.createElement('li');
      li.textContent = text;
      return li;
    }),
  );
}

// ------------------------------------------------------------ cold starts

async function coldRecagent() {
  const marks = { moduleStart: performance.now() };
  const { default: init, Recommender } = await import('/pkg/recagent.js');
  marks.imported = performance.now();
  await init(); // fetches pkg/recagent_bg.wasm (instantiateStreaming)
  marks.init = performance.now();
  const files = {};
  const rec = await Recommender.create({
    ...FILES,
    namespace: 'bench-cold',
    // downloads only: the other phases (parsing, building) report here too
    onProgress: ({ phase, file, loaded, total }) => {
      if (phase !== 'download') return;
      const f = (files[file] ??= { events: 0, loaded: 0, total: 0 });
      f.events++;
      f.loaded = loaded;
      f.total = total;
    },
  });
  marks.created = performance.now();
  const list = await rec.recommend({ k: 10 });
  marks.recommended = performance.now();
  render(list.map((r) => `${r.title} — ${r.explanation.summary}`));
  await nextFrame();
  marks.rendered = performance.now();
  return { marks, files, items: list.map((r) => r.id), size: rec.size };
}

/** The model's bytes: from the Cache API when there, else downloaded and stored (awaited), as recagent's loader does. */
async function cachedBytes(url) {
  const cache = await caches.open(ORT_CACHE);
  const hit = await cache.match(url);
  if (hit) return { bytes: new Uint8Array(await hit.arrayBuffer()), cached: true };
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  await cache.put(url, new Response(bytes, { headers: { 'content-type': 'application/octet-stream' } }));
  return { bytes, cached: false };
}

async function coldOrt(ids) {
  const marks = { moduleStart: performance.now() };
  const ort = await import(`${ORT_DIST}ort.wasm.min.mjs`);
  marks.imported = performance.now();
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = new URL(ORT_DIST, location.href).href;
  ort.env.logLevel = 'warning';
  const { bytes, cached } = await cachedBytes(FILES.textModel);
  marks.modelBytes = performance.now();
  // Instantiates ort's .wasm (fetched by ort from wasmPaths) and loads the model.
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  marks.created = performance.now();
  const embedding = await ortEmbed(ort, session, ids);
  marks.embedded = performance.now();
  render([`embedding of ${ids.length} tokens, ${embedding.length} values`]);
  await nextFrame();
  marks.rendered = performance.now();
  return { marks, cached, embedding: Array.from(embedding) };
}

/** One sentence embedding with onnxruntime-web: mean pooling over the tokens, L2-normalised (as recagent). */
async function ortEmbed(ort, session, ids) {
  const s = ids.length;
  const feeds = {};
  const tensor = (values) => new ort.Tensor('int64', BigInt64Array.from(values, BigInt), [1, s]);
  for (const name of session.inputNames) {
    if (name === 'input_ids') feeds[name] = tensor(ids);
    else if (name === 'attention_mask') feeds[name] = tensor(ids.map(() => 1));
    else if (name === 'token_type_ids') feeds[name] = tensor(ids.map(() => 0));
    else throw new Error(`unexpected text model input ${name}`);
  }
  const outputs = await session.run(feeds);
  const hidden = outputs.last_hidden_state ?? outputs[session.outputNames[0]];
  const d = hidden.dims[2];
  const out = new Float32Array(d);
  for (let t = 0; t < s; t++) for (let k = 0; k < d; k++) out[k] += hidden.data[t * d + k] / s;
  const norm = Math.hypot(...out) || 1;
  for (let k = 0; k < d; k++) out[k] /= norm;
  return out;
}

// ------------------------------------------------------------ lab

async function bytesOf(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Times `fn` up to its promise's settling (recommend settles at once: its work is done in the call). */
async function timed(fn) {
  const t0 = performance.now();
  const value = await fn();
  return [performance.now() - t0, value];
}

function checkList(list, k, label, exclude = []) {
  if (!Array.isArray(list) || list.length !== k) throw new Error(`${label}: ${list?.length} results, not ${k}`);
  if (new Set(list.map((r) => r.id)).size !== k) throw new Error(`${label}: duplicate ids`);
  for (const r of list) {
    if (!Number.isFinite(r.score)) throw new Error(`${label}: score ${r.score} for ${r.id}`);
    if (exclude.includes(r.id)) throw new Error(`${label}: already-liked item ${r.id} recommended`);
  }
}

const QUERIES = ['space adventure', 'a funny romantic comedy', 'dark crime thriller', 'animated film for kids'];
const LIKES = ['50', '181', '172']; // Star Wars, Return of the Jedi, The Empire Strikes Back (ML-100K ids)

const lab = {
  /** Token ids (recagent's tokenizer) and the embedding of `text`, for the peer's input and a cross-check. */
  async embed(text) {
    const { default: init, TextEmbedder } = await import('/pkg/recagent.js');
    await init();
    const [model, vocab] = await Promise.all([bytesOf(FILES.textModel), (await fetch(FILES.vocab)).text()]);
    const embedder = await TextEmbedder.create(model, vocab);
    const result = { ids: Array.from(embedder.tokenize(text)), embedding: Array.from(embedder.embed(text)) };
    embedder.free();
    return result;
  },

  /**
   * A large catalog through the JS API: download, `create` from the bytes
   * (catalog only, `loads` times), then with MiniLM: recommend with no
   * history, after three likes, and with a text query (warm-up, then `runs`).
   */
  async big(url, { loads, runs, warmup }) {
    const { default: init, Recommender } = await import('/pkg/recagent.js');
    const wasm = await init();
    let t0 = performance.now();
    const bundle = await bytesOf(url);
    const downloadMs = performance.now() - t0;
    const loadMs = [];
    let memoryBytes = 0, size = 0;
    for (let i = 0; i < loads; i++) {
      status(`${url}: load ${i + 1}/${loads}`);
      t0 = performance.now();
      const rec = await Recommender.create({ catalog: bundle, namespace: `bench-big-load-${i}` });
      loadMs.push(performance.now() - t0);
      memoryBytes = rec.memoryBytes;
      size = rec.size;
      rec.free();
    }
    // Linear memory never shrinks: its size now is the peak of a catalog load
    // (the bundle's bytes copied in, plus the catalog read from them).
    const wasmMemoryBytes = wasm.memory.buffer.byteLength;
    const [model, vocab] = await Promise.all([bytesOf(FILES.textModel), (await fetch(FILES.vocab)).text()]);
    t0 = performance.now();
    const rec = await Recommender.create({ catalog: bundle, textModel: model, vocab, namespace: 'bench-big' });
    const createWithModelMs = performance.now() - t0;
    const [firstMs, first] = await timed(() => rec.recommend({ k: 10 }));
    checkList(first, 10, 'first recommend');
    const sample = async (label, fn, exclude) => {
      for (let i = 0; i < warmup; i++) await fn(i);
      const xs = [];
      for (let i = 0; i < runs; i++) {
        const [ms, list] = await timed(() => fn(i));
        checkList(list, 10, label, exclude);
        xs.push(ms);
      }
      return xs;
    };
    status(`${url}: recommend`);
    const plain = await sample('recommend, no history', () => rec.recommend({ k: 10 }));
    for (const item of LIKES) await rec.observe({ item, type: 'like' });
    const history = await sample('recommend after 3 likes', () => rec.recommend({ k: 10 }), LIKES);
    const query = await sample(
      'recommend with a query',
      (i) => rec.recommend({ k: 10, query: QUERIES[i % QUERIES.length] }),
      LIKES,
    );
    const top = (await rec.recommend({ k: 10 })).map((r) => r.title);
    rec.free();
    return { bytes: bundle.length, downloadMs, loadMs, memoryBytes, wasmMemoryBytes, size, createWithModelMs, firstMs, plain, history, query, top };
  },

  /**
   * `ask` on the ML-100K catalog: at autonomy 0 (the device answers, no
   * request) and at autonomy 2 against `endpoint` (the scripted server,
   * planner mode) streamed (the default) and not streamed, alternating. LLM time per ask
   * from the ledger (`durationMs`, fetch start to body end, ms resolution)
   * and from PerformanceResourceTiming (responseEnd − startTime).
   */
  async ask(endpoint, { runs, warmup }) {
    const { default: init, Recommender } = await import('/pkg/recagent.js');
    await init();
    const rec = await Recommender.create({ ...FILES, cache: false, namespace: 'bench-ask' });
    // Distinct requests (one per ask, in order), so the intent parser's word
    // cache does not make later asks cheaper than a person's new request.
    const texts = [
      'something light to watch with my kids tonight, not animated',
      'a space adventure with great battles',
      'a funny romantic comedy for a date night',
      'a dark crime thriller, no horror',
      'I hate horror. Give me a thriller released after 1995',
      'I already saw Vertigo and Rear Window, something similar',
      'a western from the fifties with cowboys and outlaws',
      'spooky ghost stories but nothing too gory',
      'an uplifting musical for the whole family',
      'a documentary about music, ideally after 1990',
      'like Star Wars but not Star Wars itself',
      'a slow moody film noir from the 1940s',
      'war movies about soldiers, not before 1970',
      'I loved Alien but not its sequels',
      'a clever mystery with a detective and a twist',
      'cartoons for a rainy afternoon',
      'a gangster epic from the seventies',
      'quirky independent comedies from the 90s',
      'a tearjerker drama about friendship',
      'sci-fi with robots and artificial intelligence',
    ];
    const one = async (i, autonomy, stream) => {
      await rec.setLlm({ endpoint, model: 'scripted', stream }); // also starts a new conversation
      await rec.resetConversation();
      const before = (await rec.ledger()).length;
      performance.clearResourceTimings();
      const t0 = performance.now();
      const result = await rec.ask(texts[i % texts.length], { autonomy });
      const totalMs = performance.now() - t0;
      const sent = (await rec.ledger()).slice(before);
      // The last request's entry can land a little after ask resolves (its
      // stream is aborted once the answer is complete): wait for it, untimed.
      const origin = new URL(endpoint).origin;
      const mine = () =>
        performance
          .getEntriesByType('resource')
          .filter((e) => e.name.startsWith(origin) && e.startTime >= t0 && e.startTime <= t0 + totalMs);
      for (let waited = 0; mine().length < sent.length && waited < 500; waited += 10) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const timings = mine();
      return {
        totalMs,
        requests: sent.length,
        statuses: sent.map((e) => e.status),
        ledgerMs: sent.reduce((a, e) => a + e.durationMs, 0),
        resourceMs: timings.reduce((a, e) => a + (e.responseEnd - e.startTime), 0),
        resourceEntries: timings.length,
        fallback: result.fallback?.code ?? null,
        items: result.items.length,
        tools: result.trace.filter((s) => s.kind === 'tool').map((s) => `${s.tool}:${s.status}`),
        kinds: result.trace.map((s) => s.kind),
      };
    };
    // The three series alternate (rotating order each round) so none gets the
    // others' warm-up or a quieter stretch of the machine; at autonomy 0 the
    // LLM is set but unused.
    const series = { device: [0, true], llm: [2, true], llmJson: [2, false] };
    const out = { device: [], llm: [], llmJson: [] };
    const names = Object.keys(series);
    status('ask: warming up');
    // Warm-up takes texts from the end; in round i the device asks text i
    // (new to the parser), the LLM series texts further on.
    const last = texts.length - 1;
    for (let i = 0; i < warmup; i++) for (const name of names) await one(last - i, ...series[name]);
    for (let i = 0; i < runs; i++) {
      status(`ask: round ${i + 1}/${runs}`);
      for (let j = 0; j < names.length; j++) {
        const name = names[(i + j) % names.length];
        const text = name === 'device' ? i : (i + 7 * (names.indexOf(name))) % texts.length;
        out[name].push(await one(text, ...series[name]));
      }
    }
    rec.free();
    return out;
  },
};

// ------------------------------------------------------------ dispatch

window.benchResult = null;
window.benchError = null;
const run = {
  recagent: () => coldRecagent(),
  ort: () => coldOrt((params.get('ids') ?? '').split(',').filter(Boolean).map(Number)),
};
if (mode === 'lab') {
  window.lab = lab;
  window.labReady = true;
  status('lab ready');
} else if (run[mode]) {
  status(`cold start: ${mode}`);
  run[mode]().then(
    (result) => {
      window.benchResult = result;
      status('done');
    },
    (err) => {
      window.benchError = `${err?.name}: ${err?.message}${err?.code ? ` (${err.code})` : ''}`;
      status(`failed: ${window.benchError}`);
    },
  );
} else {
  window.benchError = `unknown mode ${mode}`;
}
