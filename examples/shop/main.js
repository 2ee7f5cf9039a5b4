import { Recommender } from "recagent";
import items from "./products.json";

const rec = await Recommender.create({ items, textModel: "./data/minilm-int8.onnx", vocab: "./data/vocab.txt" });
const list = await rec.recommend({ k: 5, query: "something warm and waterproof for hiking in the rain" });
document.querySelector("#results").replaceChildren(
  ...list.map((r) => Object.assign(document.createElement("li"), { textContent: r.title })),
);
