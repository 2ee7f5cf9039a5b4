// Benchmark inputs, shared by the page (browser) and run.mjs (node).
// Deterministic: the same texts on every run, so figures stay comparable.

/** One query-like text of about 32 tokens ([CLS] and [SEP] included). */
export const SINGLE_TEXT =
  'A slow, funny science fiction thriller about a lonely engineer who discovers ' +
  'that the city weather machines quietly rewrite everyone\u2019s memories.';

const TITLES = [
  'The Glass Orchard', 'Midnight Freight', 'Paper Lanterns', 'Northern Signal',
  'The Last Cartographer', 'Saltwater Kings', 'Quiet Engines', 'A Map of Small Fires',
  'Harbor of Echoes', 'The Ninth Winter', 'Copper Skies', 'Broken Compass',
  'The Velvet Archive', 'Lowland Ghosts', 'Iron Meadow', 'Summer of Static',
];
const GENRES = [
  'comedy', 'drama', 'thriller', 'documentary', 'romance', 'western', 'horror', 'animated adventure',
];
const PLOTS = [
  'two estranged sisters reopen their late father\u2019s bakery in a fading seaside town',
  'a retired detective is pulled back into one last case by an anonymous letter',
  'a young botanist smuggles rare seeds across a closed border',
  'an orchestra on strike stages a secret concert in an abandoned subway station',
  'a stubborn farmer battles a tech company over the water under his land',
  'three friends drive across the desert to return a stolen painting',
  'a radio host receives calls from listeners who claim to live in the future',
  'a chess prodigy from a mining village prepares for the national championship',
];
const HOOKS = [
  'Critics praised the sharp dialogue and the warm, melancholy score.',
  'Shot on location with a cast of first-time actors.',
  'Perfect for a rainy weekend with family.',
  'Its twist ending divided audiences at the festival.',
  'Beautiful photography, though the pacing drags in the middle.',
  'A cult favourite with an unforgettable soundtrack.',
  'Based on a true story from the nineteen seventies.',
  'Funny, tender and surprisingly suspenseful.',
];

/** 64 item descriptions (catalogue entries), each about 20-40 tokens. */
export function itemTexts(n = 64) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const title = TITLES[i % TITLES.length];
    const genre = GENRES[(i * 3 + 1) % GENRES.length];
    const plot = PLOTS[(i * 5 + 2) % PLOTS.length];
    const hook = HOOKS[(i * 7 + 3) % HOOKS.length];
    // Vary the length a little: every third item drops its hook.
    out.push(i % 3 === 2 ? `${title}: a ${genre} in which ${plot}.` : `${title}: a ${genre} in which ${plot}. ${hook}`);
  }
  return out;
}
