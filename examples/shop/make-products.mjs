#!/usr/bin/env node
// Generates an invented shop catalog: a JSON array of products in the
// library's item format, seeded and deterministic, no dependencies.
//
//   node examples/shop/make-products.mjs [--count N] [--seed S] [--out FILE]
//
// Defaults: 200 products, seed 1, written to stdout (or to FILE with --out).
// Every name, brand and description is made up from the word lists below;
// nothing is taken from any dataset. Any resemblance to a real brand or
// product is a coincidence.
//
// Item shape:
//   {"id": "p0001", "title": "...", "text": "...",
//    "attributes": {"category": "...", "brand": "...", "color": "...",
//                   "price": 49.99, "tags": ["...", "..."]}}
//
// Items are generated one after another from a single mulberry32 stream, so
// the output depends only on the seed and the item's position: the first 1,000
// items of a 10,000-item run are the 1,000-item run (only the id width
// differs: 4 digits up to 9,999 items, more above). Only +, -, *, / and
// Math.floor/Math.round are used on random numbers, so every Node version and
// platform gives byte-identical output.

import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

// ---------------------------------------------------------------------------
// Random numbers

/** mulberry32: a small, fast 32-bit seeded generator returning [0, 1). */
function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit seed from an integer string, or a hash of any other string. */
function seedFrom(s) {
  if (/^-?\d+$/.test(s)) return Number(BigInt.asUintN(32, BigInt(s)));
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

// ---------------------------------------------------------------------------
// Vocabulary shared by all categories

const COLORS = ["black", "white", "grey", "navy", "red", "green", "blue", "yellow", "orange", "beige"];

// Brands: name, price tier (multiplies the position in the price range) and
// the categories they sell. Every category has at least three brands.
const BRANDS = [
  ["Halvoro", 1.15, ["running shoes", "rain jackets", "backpacks"]],
  ["Tarnholm", 1.0, ["rain jackets", "backpacks", "yoga mats"]],
  ["Brisova", 0.85, ["running shoes", "yoga mats"]],
  ["Pinewick", 0.9, ["plant pots", "desk lamps", "board games"]],
  ["Lumaden", 1.2, ["desk lamps", "headphones"]],
  ["Veltrano", 1.3, ["coffee makers", "kitchen knives"]],
  ["Korvel", 1.0, ["kitchen knives", "coffee makers", "plant pots"]],
  ["Ambrisk", 0.8, ["headphones", "running shoes"]],
  ["Oskarra", 1.0, ["board games", "plant pots"]],
  ["Feldrose", 1.1, ["plant pots", "yoga mats", "desk lamps"]],
  ["Solvinde", 1.0, ["rain jackets", "running shoes", "backpacks"]],
  ["Marrowby", 0.9, ["board games", "kitchen knives"]],
  ["Zentaro", 0.8, ["headphones", "desk lamps", "coffee makers"]],
  ["Ilvaness", 1.2, ["yoga mats", "rain jackets"]],
  ["Quillbury", 0.95, ["backpacks", "board games", "headphones"]],
];

// Syllables for coined model names ("Velaro", "Korinta", ...).
const SYL_START = ["Ka", "Lo", "Ve", "Mi", "Ar", "So", "Ta", "Ri", "No", "Ze", "Bel", "Cor", "Dal", "Fen", "Hal",
  "Is", "Jun", "Kel", "Mar", "Ost", "Pel", "Ru", "Sil", "Tor", "Ul", "Vin", "Yar", "El", "Nav", "Quo"];
const SYL_MID = ["", "", "", "la", "ri", "va", "no", "te", "mi", "so"];
const SYL_END = ["ra", "no", "vo", "ta", "lin", "mar", "sen", "dor", "vex", "lia", "ko", "rin", "ven", "tis", "dell", "ano"];

// ---------------------------------------------------------------------------
// Categories
//
// Lists hold strings or [string, options] ([adj, string, options] for
// features). options.only restricts an entry to the nouns with those keys,
// options.tags adds tags, options.colors restricts the colour; a material
// with options.with is a list of parts, always "made with" (never "made of"),
// one with options.premium puts the price in the upper half of the range.
// Nouns have a key k (used by only), optional tags and price range, and pl for
// plural nouns ("headphones"). A feature's adj (when not empty) goes into the
// title; the key feature is always named in the text, so title, text and tags
// agree.

const CATEGORIES = [
  {
    category: "running shoes",
    price: [45, 180],
    tags: ["running", "sport"],
    roots: ["Trail", "Stride", "Pace", "Swift", "Tempo", "Glide", "Ridge", "Dash", "Fleet", "Lope"],
    suffixes: ["runner", "flex", "wave", "step", "line", "foam", "bolt", "sprint"],
    versions: ["", "", "", "2", "3", "4", "5", "6", "Pro", "Lite", "Max", "X", "GT", "Plus"],
    nouns: [
      ["road running shoe", { k: "road" }],
      ["trail running shoe", { k: "trail", tags: ["outdoor"] }],
      ["racing shoe", { k: "race" }],
      ["walking shoe", { k: "walk" }],
      ["kids' running shoe", { k: "kids", tags: ["kids"], price: [29, 85] }],
    ],
    materials: [
      "a breathable engineered mesh upper",
      ["a recycled knit upper", { tags: ["recycled"] }],
      ["a vegan synthetic suede upper", { tags: ["vegan"] }],
      ["a tough ripstop upper with a rubber toe cap", { only: ["trail", "walk", "kids"] }],
      ["a plant-based foam midsole and a knit upper", { tags: ["eco"] }],
      ["a see-through monofilament mesh upper", { only: ["race"], tags: ["lightweight"] }],
    ],
    features: [
      ["waterproof", "a waterproof membrane that keeps feet dry in puddles and rain", { tags: ["waterproof"], only: ["trail", "walk", "kids", "road"] }],
      ["cushioned", "a thick, soft midsole that takes the sting out of long miles", {}],
      ["grippy", "a lugged rubber outsole that grips mud and wet rock", { tags: ["outdoor"], only: ["trail", "walk"] }],
      ["lightweight", "a featherweight build of under 220 grams", { tags: ["lightweight"], only: ["road", "race", "kids"] }],
      ["", "reflective heel tabs for running after dark", {}],
      ["stable", "a firm heel counter and a wide base that support tired ankles", { tags: ["stability"], only: ["road", "walk", "trail"] }],
      ["carbon-plated", "a stiff carbon plate and bouncy foam for fast race days", { tags: ["performance"], only: ["race"] }],
      ["wide-fit", "a roomy toe box that suits wide feet", { tags: ["wide fit"], only: ["road", "walk", "trail"] }],
      ["easy-on", "hook-and-loop straps that small hands can fasten", { only: ["kids"] }],
    ],
    uses: [
      ["daily runs on city streets", { only: ["road"] }],
      ["muddy trail races", { tags: ["trail"], only: ["trail"] }],
      ["mountain trails and rocky paths", { tags: ["hiking"], only: ["trail", "walk"] }],
      ["marathon training", { tags: ["marathon"], only: ["road", "race"] }],
      ["5K and 10K race days", { only: ["race", "road"] }],
      ["long walks around town", { only: ["walk", "road"] }],
      ["a first couch-to-5K plan", { tags: ["beginner"], only: ["road", "walk"] }],
      ["the school playground and weekend runs", { only: ["kids"] }],
      ["sports day and park runs", { only: ["kids"] }],
    ],
    gifts: ["a runner in the family", ["someone training for their first marathon", { only: ["road", "race"] }], ["a sporty child", { only: ["kids"] }]],
    giftRate: 0.12,
  },
  {
    category: "rain jackets",
    price: [35, 260],
    tags: ["waterproof", "outdoor"],
    // Tags every item of the category gets first (all rain jackets keep rain out).
    always: ["waterproof"],
    roots: ["Storm", "Drizzle", "Cloud", "Tide", "Fjord", "Squall", "Mist", "Gale", "Rain", "Torrent"],
    suffixes: ["shell", "guard", "shield", "line", "pack", "peak", "proof", "watch"],
    versions: ["", "", "", "2", "3", "4", "Pro", "Lite", "Alpine", "Trek", "Plus", "Air"],
    nouns: [
      ["rain jacket", { k: "jacket" }],
      ["hardshell jacket", { k: "hard" }],
      ["packable rain shell", { k: "pack", tags: ["packable", "travel"], price: [35, 160] }],
      ["insulated rain parka", { k: "parka", tags: ["insulated", "warm"], price: [90, 260] }],
      ["kids' rain jacket", { k: "kids", tags: ["kids"], price: [25, 80] }],
      ["cycling rain jacket", { k: "cycle", tags: ["cycling"] }],
      ["long raincoat", { k: "coat" }],
    ],
    materials: [
      ["a three-layer waterproof, breathable fabric", { only: ["hard", "jacket", "cycle", "parka"] }],
      ["recycled nylon ripstop", { tags: ["recycled"] }],
      ["a PFC-free coated polyester", { tags: ["eco"] }],
      "a soft-touch two-layer polyester lined with mesh",
      ["a stretchy waterproof fabric that moves with you", { only: ["jacket", "hard", "cycle", "kids"] }],
      ["a featherlight 2.5-layer nylon", { tags: ["lightweight"], only: ["pack", "jacket", "cycle"] }],
    ],
    features: [
      ["insulated", "a warm synthetic insulation for cold, wet days", { tags: ["insulated", "warm"], only: ["jacket", "parka", "coat", "kids"] }],
      ["fleece-lined", "a cosy brushed-fleece lining that keeps the chill out", { tags: ["warm"], only: ["jacket", "coat", "kids", "parka"] }],
      ["packable", "a body that stuffs into its own chest pocket", { tags: ["packable", "travel"], only: ["jacket", "pack", "cycle", "hard"] }],
      ["breathable", "underarm zips that dump heat on steep climbs", { tags: ["breathable"], only: ["jacket", "hard", "parka"] }],
      ["", "a storm hood that fits over a climbing or bike helmet", { only: ["hard", "cycle"] }],
      ["seam-sealed", "fully taped seams that keep out driving rain", {}],
      ["reflective", "reflective trims for visibility in traffic", { tags: ["commute"], only: ["cycle", "kids", "coat", "jacket"] }],
      ["", "a longer cut that covers the hips and thighs", { only: ["coat", "parka"] }],
      ["", "an adjustable hood, cuffs and hem that seal out wind", {}],
      ["", "extendable sleeves that give an extra season of wear", { only: ["kids"] }],
    ],
    uses: [
      ["hiking in wet weather", { tags: ["hiking"], only: ["jacket", "hard", "pack", "parka", "kids"] }],
      ["rainy city commutes", { tags: ["commute"], only: ["jacket", "coat", "pack", "cycle"] }],
      ["multi-day backpacking trips", { tags: ["hiking", "travel"], only: ["jacket", "hard", "pack", "parka"] }],
      ["cycling to work in the rain", { tags: ["cycling", "commute"], only: ["cycle", "pack"] }],
      ["muddy festival weekends", { only: ["jacket", "coat", "pack"] }],
      ["dog walks in drizzle and sleet", { only: ["jacket", "coat", "parka"] }],
      ["winter hikes in cold rain and snow", { tags: ["hiking", "winter"], only: ["parka", "hard"] }],
      ["puddle-jumping and the school run", { only: ["kids"] }],
      ["alpine climbing in stormy weather", { tags: ["mountaineering"], only: ["hard"] }],
    ],
    gifts: ["a keen hiker", "someone who walks in all weathers", ["a child who loves puddles", { only: ["kids"] }]],
    giftRate: 0.12,
  },
  {
    category: "backpacks",
    price: [25, 220],
    tags: ["everyday", "durable"],
    roots: ["Trek", "Roam", "Summit", "Voyage", "Nomad", "Canyon", "Haul", "Drift", "Ranger", "Transit"],
    suffixes: ["pack", "pro", "lite", "rover", "go", "cargo", "base", "line"],
    versions: ["", "", "", "20", "24", "28", "30", "35", "2", "3", "Pro", "Lite", "Plus", "XL"],
    nouns: [
      ["daypack", { k: "day" }],
      ["hiking backpack", { k: "hike", tags: ["hiking"] }],
      ["laptop backpack", { k: "laptop", tags: ["work"] }],
      ["travel backpack", { k: "travel", tags: ["travel"] }],
      ["school backpack", { k: "school", tags: ["kids"], price: [19, 70] }],
      ["roll-top backpack", { k: "roll" }],
    ],
    materials: [
      ["water-resistant recycled polyester", { tags: ["recycled"] }],
      ["waxed cotton canvas", { only: ["day", "laptop", "roll", "travel"] }],
      "tough ballistic nylon",
      ["lightweight ripstop nylon", { tags: ["lightweight"] }],
      ["vegan leather and recycled canvas", { tags: ["vegan"], only: ["day", "laptop", "travel"] }],
      ["welded waterproof tarpaulin", { tags: ["waterproof"], only: ["roll", "hike"] }],
    ],
    features: [
      ["padded", "a padded sleeve that fits a 16-inch laptop", { tags: ["laptop"], only: ["day", "laptop", "travel", "roll", "school"] }],
      ["ventilated", "a ventilated back panel and a padded hip belt for long hikes", { tags: ["hiking"], only: ["hike", "day"] }],
      ["anti-theft", "a hidden back pocket for passport and wallet", { tags: ["travel", "anti-theft"], only: ["travel", "laptop", "day"] }],
      ["", "a sleeve and port for a water bladder", { tags: ["hiking"], only: ["hike", "day"] }],
      ["cabin-size", "carry-on dimensions that fit most airline cabins", { tags: ["travel"], only: ["travel", "laptop"] }],
      ["", "plenty of pockets to keep cables, pens and keys in order", {}],
      ["weatherproof", "a roll-top closure that keeps rain out", { tags: ["waterproof"], only: ["roll"] }],
      ["ultralight", "a frameless build that weighs under 700 grams", { tags: ["lightweight"], only: ["hike", "day", "roll"] }],
      ["", "reflective strips for walking home in the dark", { only: ["school", "roll", "laptop"] }],
      ["ergonomic", "padded, adjustable straps that spread the load on small shoulders", { tags: ["kids"], only: ["school"] }],
    ],
    uses: [
      ["day hikes", { tags: ["hiking"], only: ["day", "hike", "roll"] }],
      ["commuting with a laptop", { tags: ["commute"], only: ["laptop", "day", "roll"] }],
      ["weekend city breaks", { tags: ["travel"], only: ["travel", "day"] }],
      ["carry-on-only travel", { tags: ["travel"], only: ["travel"] }],
      ["school days and homework", { only: ["school"] }],
      ["multi-day treks in the mountains", { tags: ["hiking"], only: ["hike"] }],
      ["cycling to the office", { tags: ["cycling", "commute"], only: ["roll", "laptop"] }],
      ["university lectures", { tags: ["student"], only: ["laptop", "day", "school"] }],
    ],
    gifts: [["a frequent traveller", { only: ["travel", "laptop"] }], ["a student", { only: ["laptop", "school", "day"] }], ["a hiking fan", { only: ["hike", "day", "roll"] }]],
    giftRate: 0.12,
  },
  {
    category: "coffee makers",
    price: [15, 650],
    tags: ["coffee", "kitchen"],
    roots: ["Brew", "Crema", "Roast", "Bean", "Drip", "Morning", "Mocha", "Aroma", "Kettle", "Dawn"],
    suffixes: ["master", "pot", "press", "one", "craft", "well", "mate", "cup"],
    versions: ["", "", "", "2", "3", "Duo", "Mini", "Pro", "Classic", "Plus", "One", "Go"],
    nouns: [
      ["espresso machine", { k: "esp", price: [149, 650] }],
      ["drip coffee maker", { k: "drip", price: [35, 180] }],
      ["pour-over coffee dripper", { k: "pour", price: [15, 60] }],
      ["French press", { k: "press", price: [19, 75] }],
      ["stovetop moka pot", { k: "moka", price: [19, 90] }],
      ["cold brew maker", { k: "cold", price: [22, 80] }],
      ["travel coffee press", { k: "travel", tags: ["travel"], price: [18, 55] }],
    ],
    materials: [
      "brushed stainless steel",
      ["heat-resistant borosilicate glass", { only: ["pour", "press", "cold", "drip"] }],
      ["matte ceramic", { only: ["pour"] }],
      ["cast aluminium", { only: ["moka"] }],
      ["BPA-free plastic and stainless steel", { only: ["drip", "cold", "travel", "esp"] }],
      ["glass and a bamboo lid", { tags: ["eco"], only: ["press", "cold"] }],
      ["copper-finished steel", { only: ["esp", "moka", "pour", "press"] }],
    ],
    features: [
      ["", "a steam wand that whips up silky milk foam for lattes", { tags: ["latte"], only: ["esp"] }],
      ["", "a built-in burr grinder for freshly ground beans", { tags: ["grinder"], only: ["esp", "drip"] }],
      ["programmable", "a programmable timer so coffee is ready when you wake up", { only: ["drip"] }],
      ["thermal", "a thermal carafe that keeps coffee hot for hours", { only: ["drip"] }],
      ["insulated", "a double-walled body that keeps coffee hot", { tags: ["insulated"], only: ["press", "travel"] }],
      ["", "a fine stainless mesh filter that needs no paper", { tags: ["zero waste"], only: ["pour", "press", "cold"] }],
      ["compact", "a compact footprint that fits small kitchens", { tags: ["compact"], only: ["esp", "drip", "cold"] }],
      ["", "one-touch buttons for espresso, lungo and americano", { only: ["esp"] }],
      ["induction-ready", "a base that works on gas, electric and induction hobs", { only: ["moka"] }],
      ["leak-proof", "a leak-proof lid for coffee on the go", { tags: ["travel"], only: ["travel"] }],
      ["12-cup", "a large carafe that serves the whole household", { tags: ["family"], only: ["drip"] }],
      ["", "a 1.5-litre jug that keeps a week of cold brew in the fridge", { only: ["cold"] }],
      ["", "a spiral-ribbed cone for an even extraction", { only: ["pour"] }],
      ["", "a cool-touch handle with a drip-free spout", { only: ["moka", "press", "pour"] }],
    ],
    uses: [
      "slow weekend mornings",
      ["a busy family kitchen", { tags: ["family"], only: ["esp", "drip", "press"] }],
      ["camping trips and campervans", { tags: ["camping"], only: ["moka", "press", "travel", "pour"] }],
      ["the office kitchen", { tags: ["office"], only: ["drip", "esp", "pour"] }],
      ["iced coffee on hot summer days", { tags: ["iced coffee"], only: ["cold", "pour"] }],
      ["a single morning cup", { only: ["pour", "moka", "travel", "press"] }],
      ["home baristas who love latte art", { tags: ["barista"], only: ["esp"] }],
      ["hotel rooms and long trips", { tags: ["travel"], only: ["travel", "pour"] }],
    ],
    gifts: ["a coffee lover", ["someone who loves a strong espresso", { only: ["esp", "moka"] }], "a housewarming"],
    giftRate: 0.3,
  },
  {
    category: "headphones",
    price: [15, 399],
    tags: ["audio", "music"],
    roots: ["Sonic", "Hush", "Tone", "Pulse", "Quiet", "Aria", "Vibe", "Cadence", "Resona", "Rhythm"],
    suffixes: ["pod", "beat", "tone", "phone", "fi", "wave", "loop", "sound"],
    versions: ["", "", "", "2", "3", "4", "Pro", "Lite", "Max", "Mini", "S", "Plus", "ANC"],
    nouns: [
      ["over-ear headphones", { k: "over", pl: true, price: [49, 399] }],
      ["wireless earbuds", { k: "buds", pl: true, tags: ["wireless"], price: [25, 249] }],
      ["on-ear headphones", { k: "on", pl: true, price: [29, 199] }],
      ["sports earbuds", { k: "sport", pl: true, tags: ["sport", "wireless"], price: [25, 179] }],
      ["kids' headphones", { k: "kids", pl: true, tags: ["kids"], price: [15, 60] }],
      ["studio monitor headphones", { k: "studio", pl: true, tags: ["studio"], price: [79, 349] }],
    ],
    materials: [
      ["soft memory-foam ear cushions", { with: true, only: ["over", "on", "kids", "studio"] }],
      ["a recycled plastic shell", { tags: ["recycled"] }],
      ["a light aluminium headband", { only: ["over", "on", "studio"] }],
      ["silicone ear tips in three sizes", { with: true, only: ["buds", "sport"] }],
      ["vegan leather ear pads", { with: true, tags: ["vegan"], only: ["over", "on", "studio"] }],
      ["a flexible, unbreakable headband", { only: ["kids"] }],
      "a matte polymer housing",
    ],
    features: [
      ["noise-cancelling", "active noise cancelling that blocks out engine hum and office chatter", { tags: ["noise cancelling"], only: ["over", "buds", "on"] }],
      ["", "a 40-hour battery with fast charging over USB-C", { tags: ["wireless"], only: ["over", "on"] }],
      ["", "a pocket-size charging case with 30 hours of extra battery", { only: ["buds", "sport"] }],
      ["sweatproof", "a sweat- and rain-resistant build with secure ear hooks", { only: ["sport"] }],
      ["volume-limited", "a volume limit that protects young ears", { only: ["kids"] }],
      ["foldable", "a foldable frame that packs flat into the included case", { tags: ["travel"], only: ["over", "on", "kids"] }],
      ["", "a detachable boom microphone for clear calls", { tags: ["work"], only: ["over", "on", "studio"] }],
      ["", "a flat, detailed sound for mixing and editing", { only: ["studio"] }],
      ["", "punchy bass and crisp highs", { only: ["over", "on", "buds", "sport"] }],
      ["", "multipoint pairing with a phone and a laptop at the same time", { tags: ["wireless", "work"], only: ["over", "on", "buds"] }],
      ["", "a transparency mode for hearing traffic and announcements", { only: ["buds", "sport", "over"] }],
    ],
    uses: [
      ["long-haul flights", { tags: ["travel"], only: ["over", "buds", "on"] }],
      ["working in a noisy open-plan office", { tags: ["work"], only: ["over", "on", "buds"] }],
      ["gym workouts and morning runs", { tags: ["sport"], only: ["sport", "buds"] }],
      ["recording and mixing music at home", { only: ["studio"] }],
      ["the daily commute", { tags: ["commute"], only: ["over", "on", "buds"] }],
      ["online school lessons and audiobooks", { only: ["kids"] }],
      ["long car journeys", { tags: ["travel"], only: ["kids", "buds", "over"] }],
      ["late-night gaming", { tags: ["gaming"], only: ["over", "studio", "on"] }],
      ["podcast editing", { tags: ["podcast"], only: ["studio"] }],
    ],
    gifts: ["a music lover", ["a frequent flyer", { only: ["over", "buds", "on"] }], ["a young listener", { only: ["kids"] }]],
    giftRate: 0.18,
  },
  {
    category: "desk lamps",
    price: [15, 190],
    tags: ["lighting", "home"],
    roots: ["Lumo", "Glow", "Beam", "Glimmer", "Lux", "Arc", "Nova", "Flare", "Candela", "Ember"],
    suffixes: ["lite", "arm", "desk", "ray", "point", "line", "spot", "shade"],
    versions: ["", "", "", "2", "3", "Mini", "Duo", "One", "Plus", "Slim", "Flex", "S"],
    nouns: [
      ["LED desk lamp", { k: "led" }],
      ["architect lamp", { k: "arch" }],
      ["clamp-on desk lamp", { k: "clamp" }],
      ["reading lamp", { k: "read" }],
      ["bedside lamp", { k: "bed" }],
      ["kids' desk lamp", { k: "kids", tags: ["kids"], price: [15, 60] }],
      ["cordless table lamp", { k: "cordless", tags: ["cordless"] }],
    ],
    materials: [
      "powder-coated steel",
      "solid oak and steel",
      ["bamboo", { tags: ["eco"] }],
      "spun aluminium",
      ["frosted glass and brass", { only: ["read", "bed", "cordless"] }],
      ["soft-touch, shatterproof plastic", { only: ["kids"] }],
      ["recycled aluminium", { tags: ["recycled"] }],
    ],
    features: [
      ["dimmable", "a stepless touch dimmer", {}],
      ["", "adjustable colour temperature from warm white to daylight", { only: ["led", "arch", "clamp", "kids", "read"] }],
      ["", "a wireless phone charger built into the base", { tags: ["charging"], only: ["led", "bed"] }],
      ["", "a USB-C port for charging a phone or tablet", { tags: ["charging"] }],
      ["flicker-free", "a flicker-free light that is easy on the eyes", { tags: ["eye care"] }],
      ["swing-arm", "a long articulated arm that reaches across a wide desk", { only: ["arch", "clamp", "led"] }],
      ["", "an auto-off timer for falling asleep while reading", { only: ["bed", "read", "kids"] }],
      ["rechargeable", "a battery that lasts a week of evenings between charges", { tags: ["cordless"], only: ["cordless"] }],
      ["space-saving", "a sturdy clamp that frees up desk space", { tags: ["compact"], only: ["clamp"] }],
      ["", "a warm night-light mode with a gentle glow", { only: ["kids", "bed"] }],
    ],
    uses: [
      ["late-night study sessions", { tags: ["study"], only: ["led", "arch", "clamp", "kids", "read"] }],
      ["a home office", { tags: ["work"], only: ["led", "arch", "clamp", "cordless"] }],
      ["reading in bed", { tags: ["reading"], only: ["bed", "read", "cordless"] }],
      ["drawing, sewing and detailed crafts", { tags: ["crafts"], only: ["arch", "clamp", "led"] }],
      ["a child's homework desk", { only: ["kids", "led"] }],
      ["a small dorm room", { tags: ["student"], only: ["clamp", "led", "bed"] }],
      ["a cosy living-room corner", { only: ["read", "cordless", "bed"] }],
      ["balcony dinners and garden tables", { tags: ["outdoor"], only: ["cordless"] }],
    ],
    gifts: ["a student", ["a bookworm", { only: ["read", "bed", "cordless"] }], ["someone setting up a home office", { only: ["led", "arch", "clamp"] }]],
    giftRate: 0.12,
  },
  {
    category: "yoga mats",
    price: [15, 140],
    tags: ["yoga", "fitness"],
    roots: ["Zen", "Lotus", "Flow", "Balance", "Asana", "Calm", "Prana", "Sun", "Breath", "Still"],
    suffixes: ["mat", "grip", "pad", "flow", "rest", "tide", "root", "form"],
    versions: ["", "", "", "2", "3", "Pro", "Lite", "Plus", "Go", "Studio", "Travel", "Max"],
    nouns: [
      ["yoga mat", { k: "mat" }],
      ["travel yoga mat", { k: "travel", tags: ["travel"] }],
      ["extra-thick exercise mat", { k: "thick" }],
      ["kids' yoga mat", { k: "kids", tags: ["kids"], price: [12, 45] }],
      ["hot yoga mat towel", { k: "towel", price: [15, 60] }],
      ["pilates mat", { k: "pilates", tags: ["pilates"] }],
    ],
    materials: [
      ["natural tree rubber", { tags: ["eco"], only: ["mat", "travel"] }],
      ["cork on a natural rubber base", { tags: ["eco", "vegan"], only: ["mat", "travel"], colors: ["beige"] }],
      ["TPE foam", { tags: ["vegan"], only: ["mat", "thick", "kids", "pilates"] }],
      ["organic cotton", { tags: ["eco"], only: ["towel", "mat"] }],
      ["recycled rubber", { tags: ["recycled"], only: ["mat", "thick", "pilates"] }],
      ["jute and natural rubber", { tags: ["eco"], only: ["mat"], colors: ["beige", "green", "grey"] }],
      ["soft microfibre with silicone grip dots", { only: ["towel"] }],
      ["dense NBR foam", { only: ["thick", "pilates"] }],
    ],
    features: [
      ["non-slip", "a grippy surface that holds even when you sweat", { tags: ["non-slip"] }],
      ["cushioned", "6 mm of cushioning that protects knees and wrists", { only: ["mat", "pilates", "kids"] }],
      ["", "printed alignment lines that help with posture", { tags: ["beginner"], only: ["mat", "pilates", "kids"] }],
      ["foldable", "a foldable build that fits in a suitcase", { tags: ["travel", "compact"], only: ["travel", "towel"] }],
      ["", "a carry strap for the walk to class", { only: ["mat", "thick", "pilates", "kids"] }],
      ["easy-clean", "a closed-cell surface that wipes clean in seconds", { only: ["mat", "thick", "kids", "pilates"] }],
      ["ultra-thin", "a 1.5 mm profile that weighs under a kilo", { tags: ["lightweight"], only: ["travel"] }],
      ["", "playful animal prints", { only: ["kids"] }],
      ["quick-dry", "a quick-drying weave that soaks up sweat", { only: ["towel"] }],
      ["", "15 mm of dense foam for sensitive joints", { only: ["thick"] }],
    ],
    uses: [
      ["hot yoga classes", { tags: ["hot yoga"], only: ["towel", "mat"] }],
      ["home workouts", { tags: ["home workout"], only: ["mat", "thick", "pilates"] }],
      ["pilates and core training", { tags: ["pilates"], only: ["pilates", "thick", "mat"] }],
      ["stretching after a run", { only: ["mat", "thick", "travel", "pilates"] }],
      ["meditation and slow flows", { tags: ["meditation"], only: ["mat", "thick"] }],
      ["yoga on holiday", { tags: ["travel"], only: ["travel", "towel"] }],
      ["family yoga sessions", { tags: ["family"], only: ["kids"] }],
      ["beginner yoga classes", { tags: ["beginner"], only: ["mat", "pilates", "kids"] }],
    ],
    gifts: ["a yoga fan", ["someone starting pilates", { only: ["pilates"] }], ["someone with a new fitness resolution", { only: ["mat", "thick", "pilates"] }]],
    giftRate: 0.12,
  },
  {
    category: "kitchen knives",
    price: [12, 480],
    tags: ["kitchen", "cooking"],
    roots: ["Edge", "Blade", "Forge", "Keen", "Steel", "Razor", "Hone", "Carve", "Tang", "Whet"],
    suffixes: ["master", "line", "craft", "cut", "point", "smith", "wright", "mark"],
    versions: ["", "", "", "2", "3", "Classic", "Pro", "Chef", "Series 5", "Series 7", "Kai", "Plus"],
    nouns: [
      ["chef's knife", { k: "chef", price: [29, 320] }],
      ["santoku knife", { k: "santoku", price: [29, 260] }],
      ["paring knife", { k: "paring", price: [12, 80] }],
      ["bread knife", { k: "bread", price: [19, 150] }],
      ["knife block set", { k: "set", price: [59, 480] }],
      ["utility knife", { k: "util", price: [15, 110] }],
      ["carving knife", { k: "carve", price: [25, 200] }],
    ],
    materials: [
      ["high-carbon stainless steel and a walnut handle", { with: true, only: ["chef", "santoku", "paring", "bread", "util", "carve"] }],
      ["layered Damascus-style steel and an olive wood handle", { with: true, premium: true, tags: ["premium"], only: ["chef", "santoku", "paring", "bread", "util", "carve"] }],
      ["high-carbon stainless steel blades and walnut handles", { with: true, only: ["set"] }],
      ["layered Damascus-style blades and olive wood handles", { with: true, premium: true, tags: ["premium"], only: ["set"] }],
      ["a ceramic blade and a soft-grip handle", { only: ["paring", "util", "santoku"] }],
      ["rust-resistant steel and a recycled plastic handle", { with: true, tags: ["recycled"], only: ["chef", "santoku", "paring", "bread", "util", "carve"] }],
      ["forged steel and a riveted handle", { with: true, only: ["chef", "santoku", "paring", "bread", "util", "carve"] }],
      ["forged steel blades and riveted handles", { with: true, only: ["set"] }],
      ["a single piece of stainless steel", { only: ["chef", "santoku", "paring", "bread", "util", "carve"] }],
    ],
    features: [
      ["razor-sharp", "a razor-sharp edge that stays keen for months", { only: ["chef", "santoku", "paring", "bread", "util", "carve"] }],
      ["razor-sharp", "razor-sharp edges that stay keen for months", { only: ["set"] }],
      ["balanced", "a full-tang, perfectly balanced build", { only: ["chef", "santoku", "carve", "bread", "util"] }],
      ["", "a dimpled blade that stops food from sticking", { only: ["santoku", "chef", "carve"] }],
      ["serrated", "a long serrated edge that saws through crusty loaves", { only: ["bread"] }],
      ["ergonomic", "a non-slip ergonomic handle for long prep sessions", { only: ["chef", "santoku", "paring", "bread", "util", "carve"] }],
      ["ergonomic", "non-slip ergonomic handles for long prep sessions", { only: ["set"] }],
      ["", "a magnetic blade guard for safe drawer storage", { tags: ["storage"], only: ["chef", "santoku", "paring", "util", "bread", "carve"] }],
      ["", "a wooden block with a built-in sharpener", { only: ["set"] }],
      ["lightweight", "a thin, light blade that suits smaller hands", { tags: ["lightweight"], only: ["chef", "santoku", "paring", "util"] }],
      ["dishwasher-safe", "a dishwasher-safe build", { tags: ["dishwasher-safe"], only: ["util", "paring", "set"] }],
    ],
    uses: [
      "everyday home cooking",
      ["chopping herbs and vegetables", { tags: ["vegetables"], only: ["chef", "santoku", "util", "set"] }],
      ["carving the Sunday roast", { tags: ["roast"], only: ["carve", "chef", "set"] }],
      ["slicing sourdough and baguettes", { tags: ["baking"], only: ["bread", "set"] }],
      ["peeling and trimming fruit", { only: ["paring", "util"] }],
      ["sushi and fine prep work", { tags: ["sushi"], only: ["santoku", "chef"] }],
      ["a first kitchen of your own", { tags: ["starter"], only: ["set", "chef", "util"] }],
      ["busy professional kitchens", { tags: ["professional"], only: ["chef", "santoku", "set"] }],
    ],
    gifts: ["a keen home cook", ["someone moving into a first flat", { only: ["set", "chef", "util"] }], ["a bread baker", { only: ["bread"] }]],
    giftRate: 0.2,
  },
  {
    category: "board games",
    price: [10, 90],
    tags: ["games", "tabletop"],
    // Board games are named from a theme word and a verb word ("Snail Race")
    // and their text says what the players do (see gameName below).
    game: true,
    versions: ["", "", "", "", "", "Deluxe", "Big Box", "Anniversary", "Classic"],
    nouns: [
      ["strategy board game", { k: "strat", price: [29, 90] }],
      ["cooperative board game", { k: "coop", tags: ["cooperative"], price: [25, 80] }],
      ["party game", { k: "party", tags: ["party"], price: [12, 35] }],
      ["family card game", { k: "card", tags: ["family"], price: [8, 25] }],
      ["two-player game", { k: "duo", tags: ["two players"], price: [12, 45] }],
      ["kids' board game", { k: "kids", tags: ["kids"], price: [10, 40] }],
      ["puzzle game", { k: "puzzle", tags: ["puzzle"], price: [10, 40] }],
    ],
    materials: [
      ["chunky wooden pieces and a linen-finish board", { with: true }],
      ["recycled cardboard tiles and plant-based inks", { tags: ["recycled", "eco"] }],
      ["thick, linen-finish cards", { with: true, only: ["card", "party", "duo"] }],
      ["painted miniatures and a fold-out map", { with: true, only: ["strat", "coop"] }],
      ["a sturdy magnetic board", { only: ["puzzle", "duo", "kids"] }],
      ["large, wipe-clean tiles", { with: true, only: ["kids", "puzzle"] }],
    ],
    features: [
      ["", "rounds that take about twenty minutes", { tags: ["quick"] }],
      ["", "rules you can learn in five minutes", { tags: ["beginner"] }],
      ["", "a campaign that unfolds over many evenings", { tags: ["campaign"], only: ["strat", "coop"] }],
      ["", "room for up to eight players", { only: ["party", "card"] }],
      ["", "a solo mode for quiet evenings", { tags: ["solo"], only: ["strat", "coop", "puzzle"] }],
      ["", "picture-only cards, so children who cannot read yet can join in", { only: ["kids", "card"] }],
      ["", "hand-drawn artwork on every card and tile", {}],
      ["pocket-size", "a small tin that fits in a coat pocket", { tags: ["travel"], only: ["card", "duo", "puzzle"] }],
      ["", "a hidden-role twist that keeps everyone guessing", { only: ["party", "strat"] }],
      ["", "fifty challenges that get steadily harder", { only: ["puzzle"] }],
    ],
    uses: [
      ["family game nights", { tags: ["family"], only: ["coop", "card", "kids", "puzzle", "strat", "party"] }],
      ["parties with friends", { tags: ["party"], only: ["party", "card"] }],
      "rainy afternoons at home",
      ["date nights for two", { tags: ["couples"], only: ["duo", "puzzle"] }],
      ["long train journeys", { tags: ["travel"], only: ["card", "duo", "puzzle"] }],
      ["classrooms and birthday parties", { only: ["kids", "card"] }],
      ["gamers who love a long, thinky session", { only: ["strat", "coop"] }],
    ],
    gifts: ["a board game fan", ["a family with young children", { only: ["kids", "card"] }], ["a couple", { only: ["duo"] }]],
    giftRate: 0.25,
  },
  {
    category: "plant pots",
    price: [6, 120],
    tags: ["plants", "home"],
    roots: ["Terra", "Moss", "Fern", "Clay", "Leaf", "Root", "Bloom", "Sprout", "Willow", "Sage"],
    suffixes: ["nest", "well", "pot", "ring", "form", "stone", "bowl", "haven"],
    versions: ["", "", "", "", "S", "M", "L", "XL", "Duo", "Trio", "Mini", "Tall"],
    nouns: [
      ["plant pot", { k: "pot" }],
      ["self-watering planter", { k: "self", tags: ["self-watering"] }],
      ["hanging planter", { k: "hang" }],
      ["balcony planter box", { k: "box", tags: ["outdoor"] }],
      ["herb pot set", { k: "herb", tags: ["herbs"] }],
      ["bonsai pot", { k: "bonsai", tags: ["bonsai"] }],
      ["large floor planter", { k: "floor" }],
    ],
    materials: [
      "glazed stoneware",
      ["unglazed terracotta", { colors: ["orange"], only: ["pot", "herb", "bonsai", "floor", "hang"] }],
      ["recycled plastic", { tags: ["recycled"], only: ["self", "box", "pot", "floor", "hang"] }],
      ["lightweight fibre-reinforced concrete", { colors: ["grey", "white", "black", "beige"], only: ["pot", "floor", "box"] }],
      ["hand-thrown ceramic", { tags: ["handmade"], only: ["pot", "bonsai", "herb", "hang"] }],
      ["woven seagrass with a plastic liner", { tags: ["handmade"], colors: ["beige"], only: ["floor", "pot"] }],
      ["powder-coated steel", { only: ["box", "hang", "floor"] }],
    ],
    features: [
      ["", "a drainage hole and a matching saucer", { only: ["pot", "bonsai", "herb", "floor"] }],
      ["", "a water reservoir that lasts up to two weeks", { tags: ["self-watering", "low maintenance"], only: ["self", "box", "herb"] }],
      ["frost-proof", "frost-proof walls for year-round outdoor use", { tags: ["outdoor"], only: ["pot", "floor", "box"] }],
      ["lightweight", "a light body that is easy to move around", { tags: ["lightweight"], only: ["pot", "self", "box", "floor", "hang"] }],
      ["", "a knotted macramé hanger", { tags: ["handmade"], only: ["hang"] }],
      ["matte", "a minimalist matte finish", { tags: ["minimalist"], only: ["pot", "floor", "herb", "hang", "bonsai", "self"] }],
      ["", "three nesting sizes that stack for storage", { only: ["pot", "herb"] }],
      ["", "railing hooks that fit most balconies", { only: ["box"] }],
      ["", "a shallow, wide shape that suits bonsai roots", { only: ["bonsai"] }],
    ],
    uses: [
      ["herbs on a kitchen windowsill", { tags: ["herbs"], only: ["herb", "pot", "self", "box"] }],
      ["succulents and cacti", { tags: ["succulents"], only: ["pot", "bonsai", "hang"] }],
      ["a sunny balcony", { tags: ["outdoor"], only: ["box", "pot", "floor", "hang"] }],
      ["large floor plants like figs and palms", { only: ["floor", "self"] }],
      ["trailing plants like pothos and ivy", { only: ["hang"] }],
      ["small flats with little floor space", { tags: ["compact"], only: ["hang", "herb", "self", "pot"] }],
      ["first-time plant owners", { tags: ["beginner"], only: ["self", "pot", "herb"] }],
      ["a juniper or ficus bonsai", { only: ["bonsai"] }],
    ],
    gifts: ["a plant lover", "a housewarming", ["a keen gardener", { only: ["box", "herb", "bonsai"] }]],
    giftRate: 0.2,
  },
];

// Board game names: a theme word (with what it stands for in the text) and a
// verb word (with what the players do).
const GAME_THEMES = [
  ["Lantern", "lanterns"], ["Harbour", "fishing boats"], ["Dragon", "dragons"], ["Orchard", "apple orchards"],
  ["Comet", "comets"], ["Marble", "marbles"], ["Castle", "castles"], ["Fox", "foxes"], ["Meadow", "wildflowers"],
  ["Clockwork", "clockwork robots"], ["Pirate", "pirate ships"], ["Snail", "snails"], ["Volcano", "volcanoes"],
  ["Lighthouse", "lighthouses"], ["Spice", "spices"], ["Moon", "moon bases"], ["Gnome", "garden gnomes"],
  ["Penguin", "penguins"], ["Cactus", "cacti"], ["Teapot", "teapots"], ["Rocket", "rockets"], ["Owl", "owls"],
  ["Mushroom", "mushrooms"], ["Glacier", "glaciers"], ["Bakery", "pastries"], ["Coral", "coral reefs"],
  ["Jungle", "jungle animals"], ["Crystal", "crystals"], ["Beehive", "honeybees"], ["Canal", "canal barges"],
];
const GAME_ACTS = [
  ["Keepers", "work together to look after the {th}"],
  ["Quest", "set out on a quest through a land of {th}"],
  ["Market", "trade and haggle over {th}"],
  ["Race", "race to collect the most {th}"],
  ["Heist", "plan a sneaky heist involving {th}"],
  ["Tales", "tell tall tales about {th}"],
  ["Builders", "build a thriving kingdom of {th}"],
  ["Riddles", "solve riddles hidden among the {th}"],
  ["Expedition", "explore an uncharted map full of {th}"],
  ["Rescue", "team up to rescue stranded {th}"],
  ["Rivals", "outwit each other in a contest over {th}"],
  ["Tycoon", "run a business empire built on {th}"],
  ["Mysteries", "solve mysteries involving {th}"],
  ["Parade", "line up the grandest parade of {th}"],
];

// ---------------------------------------------------------------------------
// Preparing the vocabulary

function normalise(entry, isFeature = false) {
  if (isFeature) {
    const [adj, s, opts = {}] = entry;
    return { adj, s, tags: opts.tags ?? [], only: opts.only ?? null, colors: opts.colors ?? null };
  }
  const [s, opts = {}] = typeof entry === "string" ? [entry] : entry;
  return { s, ...opts, tags: opts.tags ?? [], only: opts.only ?? null, colors: opts.colors ?? null };
}

/** Per category and noun: the entries that apply to that noun. */
function prepare() {
  return CATEGORIES.map((c) => {
    const brands = BRANDS.filter(([, , cats]) => cats.includes(c.category)).map(([name, tier]) => ({ name, tier }));
    if (brands.length < 3) throw new Error(`${c.category}: fewer than 3 brands`);
    const materials = c.materials.map((m) => normalise(m));
    const features = c.features.map((f) => normalise(f, true));
    const uses = c.uses.map((u) => normalise(u));
    const gifts = c.gifts.map((g) => normalise(g));
    const nouns = c.nouns.map((n) => {
      const noun = normalise(n);
      noun.k ??= noun.s;
      const ok = (x) => !x.only || x.only.includes(noun.k);
      noun.materials = materials.filter(ok);
      noun.features = features.filter(ok);
      noun.uses = uses.filter(ok);
      noun.gifts = gifts.filter(ok);
      for (const list of ["materials", "features", "uses", "gifts"]) {
        if (noun[list].length === 0) throw new Error(`${c.category} / ${noun.s}: no ${list}`);
      }
      if (noun.features.length < 2) throw new Error(`${c.category} / ${noun.s}: fewer than 2 features`);
      noun.price ??= c.price;
      return noun;
    });
    // Every `only` key must name a noun (catches typos in the lists above).
    const keys = new Set(nouns.map((n) => n.k));
    for (const x of [...materials, ...features, ...uses, ...gifts]) {
      for (const k of x.only ?? []) if (!keys.has(k)) throw new Error(`${c.category}: unknown noun key ${k}`);
    }
    return { ...c, brands, nouns };
  });
}

// ---------------------------------------------------------------------------
// Generation

function generator(seed) {
  const rng = mulberry32(seed);
  const cats = prepare();
  const pick = (list) => list[Math.floor(rng() * list.length)];
  const seen = new Set();
  let block = [];

  // Categories come in shuffled blocks of all categories, so every prefix of
  // the output is balanced to within one item per category.
  function nextCategory() {
    if (block.length === 0) {
      block = cats.slice();
      for (let i = block.length - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        [block[i], block[j]] = [block[j], block[i]];
      }
    }
    return block.pop();
  }

  function coined() {
    const s = pick(SYL_START) + pick(SYL_MID) + pick(SYL_END);
    return s.length > 9 ? s.slice(0, 9) : s;
  }

  function modelName(cat) {
    if (rng() < 0.65) return pick(cat.roots) + pick(cat.suffixes).toLowerCase();
    return coined();
  }

  function titleOf(p) {
    return [p.model, p.version, p.adj, p.noun].filter(Boolean).join(" ");
  }

  // A title no earlier item has: a few fresh draws, then model numbers.
  function uniqueTitle(cat, noun, f1, game) {
    const adj = f1.adj && !noun.s.includes(f1.adj) ? f1.adj : "";
    let parts;
    for (let attempt = 0; attempt < 12; attempt++) {
      parts = {
        model: game ? game.name : modelName(cat),
        version: pick(cat.versions),
        adj,
        noun: noun.s,
      };
      if (game && attempt > 0) {
        game = gameName();
        parts.model = game.name;
      }
      const t = titleOf(parts);
      if (!seen.has(t)) return { title: t, game };
    }
    for (let n = 2; ; n++) {
      const t = titleOf({ ...parts, version: String(n) });
      if (!seen.has(t)) return { title: t, game };
    }
  }

  function gameName() {
    const [word, th] = pick(GAME_THEMES);
    const [verb, act] = pick(GAME_ACTS);
    return { name: `${word} ${verb}`, act: act.replace("{th}", th) };
  }

  function price(noun, tier, premium) {
    const [lo, hi] = noun.price;
    const u = rng();
    const v = rng();
    // Skewed towards the cheap end (mean ~0.375), shifted by the brand tier.
    let x = (u + u * v) / 2;
    x = Math.min(1, x * tier);
    if (premium) x = 0.5 + x / 2;
    const raw = lo + (hi - lo) * x;
    const endings = raw < 20 ? [0.49, 0.99, 0.95, 0.5] : [0.99, 0.99, 0.95, 0.9, 0.5, 0];
    let p = Math.floor(raw) + pick(endings);
    if (p > hi) p = hi - 0.01;
    if (p < lo) p = lo;
    return { price: Math.round(p * 100) / 100, x };
  }

  return function item(index, idWidth) {
    const cat = nextCategory();
    const noun = pick(cat.nouns);
    const mat = pick(noun.materials);
    const f1 = pick(noun.features);
    let f2 = pick(noun.features);
    if (f2 === f1) f2 = null;
    const use = pick(noun.uses);
    const brand = pick(cat.brands);
    const color = pick(mat.colors ?? COLORS);
    const gift = rng() < cat.giftRate ? pick(noun.gifts).s : null;
    const { price: cost, x } = price(noun, brand.tier, Boolean(mat.premium));

    const { title, game } = uniqueTitle(cat, noun, f1, cat.game ? gameName() : null);
    seen.add(title);

    const [text, f2Named] = describe({ noun, mat, f1, f2, use, brand: brand.name, color, gift, game });

    // Tags: the most specific first, the category's own last; 2 to 4 of them.
    const candidates = [
      ...(cat.always ?? []),
      ...(gift ? ["gift"] : []),
      ...noun.tags,
      ...f1.tags,
      ...mat.tags,
      ...use.tags,
      ...(f2Named ? f2.tags : []),
      ...(x > 0.75 ? ["premium"] : x < 0.08 && !mat.premium ? ["budget"] : []),
      ...cat.tags,
    ];
    const unique = [...new Set(candidates)];
    const tags = unique.slice(0, 2 + Math.floor(rng() * 3));

    return {
      id: "p" + String(index + 1).padStart(idWidth, "0"),
      title,
      text,
      attributes: { category: cat.category, brand: brand.name, color, price: cost, tags },
    };
  };

  // One or two sentences: the first names the material and the use, the
  // second the key feature (and sometimes a second feature or a gift idea).
  // Returns the text and whether it names the second feature (whose tags
  // count only then).
  function describe(c) {
    const pl = Boolean(c.noun.pl);
    const are = pl ? "are" : "is";
    const has = pl ? "have" : "has";
    const it = pl ? "they" : "it";
    const makes = pl ? "make" : "makes";
    const suits = pl ? "suit" : "suits";
    const comes = pl ? "come" : "comes";
    const n = c.noun.s;
    const cn = `${c.color} ${n}`;
    const made = c.mat.with || /^an? /.test(c.mat.s) ? "made with" : pick(["made with", "made from", "made of"]);
    const m = `${made} ${c.mat.s}`;
    const u = c.use.s;

    const plain = [
      () => `${cap(a(n, pl))} ${m}, built for ${u}.`,
      () => `Designed for ${u}, ${these(n, pl)} ${are} ${m}.`,
      () => `${c.brand}'s ${n} ${are} ${m} and ${suits} ${u}.`,
    ];
    // The colour of a board game's box is not worth a sentence.
    const coloured = c.game ? [] : [
      () => `${cap(a(cn, pl))} ${m} for ${u}.`,
      () => `${cap(m)}, ${these(cn, pl)} ${are} a good match for ${u}.`,
      () => `For ${u}: ${a(n, pl)} in ${c.color}, ${m}.`,
      () => `${cap(a(n, pl))} in ${c.color} for ${u}, ${m}.`,
    ];
    const first = pick([...plain, ...coloured])();

    const f1 = c.f1.s;
    const f2 = c.f2?.s;
    let second;
    let f2Named = false;
    if (c.game) {
      second = c.gift
        ? `Players ${c.game.act}, with ${f1}; a great gift for ${c.gift}.`
        : `Players ${c.game.act}, with ${f1}.`;
    } else if (c.gift) {
      second = pick([
        () => `${cap(it)} ${has} ${f1}, and ${makes} a thoughtful gift for ${c.gift}.`,
        () => `With ${f1}, ${it} ${makes} a great gift for ${c.gift}.`,
        () => `A thoughtful gift for ${c.gift}, with ${f1}.`,
      ])();
    } else if (f2 && rng() < 0.75) {
      f2Named = true;
      second = pick([
        () => `${cap(it)} ${has} ${f1}, as well as ${f2}.`,
        () => `Highlights include ${f1}, plus ${f2}.`,
        () => `Expect ${f1}, plus ${f2}.`,
      ])();
    } else {
      second = pick([() => `${cap(it)} ${has} ${f1}.`, () => `${cap(it)} ${comes} with ${f1}.`])();
    }
    return [`${first} ${second}`, f2Named];
  }
}

function cap(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** "a"/"an" + phrase, or "a pair of" + phrase for plural nouns. */
function a(phrase, plural) {
  if (plural) return `a pair of ${phrase}`;
  const an = /^(?:[aeio]|u(?!ni|se|ti)|LED\b)/i.test(phrase);
  return `${an ? "an" : "a"} ${phrase}`;
}

function these(phrase, plural) {
  return `${plural ? "these" : "this"} ${phrase}`;
}

// ---------------------------------------------------------------------------
// Command line

function parseArgs(argv) {
  const opts = { count: 200, seed: "1", out: null };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value = null;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = () => {
      if (value !== null) return value;
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case "--count": {
        const v = next();
        if (!/^\d+$/.test(v) || Number(v) > 1_000_000) fail(`--count must be an integer from 0 to 1000000, got ${v}`);
        opts.count = Number(v);
        break;
      }
      case "--seed":
        opts.seed = next();
        break;
      case "--out":
        opts.out = next();
        break;
      case "-h":
      case "--help":
        process.stdout.write("usage: node make-products.mjs [--count N] [--seed S] [--out FILE]\n" +
          "  --count N   number of products (default 200)\n" +
          "  --seed S    integer or string seed (default 1)\n" +
          "  --out FILE  write to FILE instead of stdout\n");
        process.exit(0);
        break;
      default:
        fail(`unknown argument: ${arg}`);
    }
  }
  return opts;
}

function fail(message) {
  process.stderr.write(`make-products: ${message}\n`);
  process.exit(2);
}

export function makeProducts(count, seed = 1) {
  const item = generator(seedFrom(String(seed)));
  const width = Math.max(4, String(count).length);
  const products = new Array(count);
  for (let i = 0; i < count; i++) products[i] = item(i, width);
  return products;
}

/** The products as a JSON array with one product per line. */
export function toJson(products) {
  if (products.length === 0) return "[]\n";
  return "[\n" + products.map((p) => JSON.stringify(p)).join(",\n") + "\n]\n";
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const json = toJson(makeProducts(opts.count, opts.seed));
  if (opts.out) {
    writeFileSync(opts.out, json);
    const ms = (performance.now() - started).toFixed(0);
    process.stderr.write(`wrote ${opts.count} products to ${opts.out} (seed ${opts.seed}, ${ms} ms)\n`);
  } else {
    // A closed pipe (`| head`) is not an error.
    process.stdout.on("error", (e) => {
      if (e.code !== "EPIPE") throw e;
      process.exit(0);
    });
    process.stdout.write(json);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
