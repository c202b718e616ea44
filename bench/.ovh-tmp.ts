import { benchOverhead } from "/work/main/bench/engine.ts";
console.log(JSON.stringify(await benchOverhead([1000, 10000], 1, [])));
