/**
 * What the offline planner knows about words: providers and their nicknames, regions in each
 * provider's spelling, number words, and the filler that carries no meaning for matching.
 */

export type Provider = "fly" | "vercel" | "neon" | "upstash" | "github" | "local";

/** Names and nicknames people use for each provider ("postgres" is Neon's job here, "kv" Upstash's). */
export const PROVIDER_NAMES: Record<Provider, string[]> = {
  fly: ["fly", "flyio", "fly.io"],
  vercel: ["vercel"],
  neon: ["neon"],
  upstash: ["upstash"],
  github: ["github", "gh"],
  local: ["local", "locally"],
};

/** Words that name a kind of service, mapped to the provider that offers it in the templates. */
export const SERVICE_NICKNAMES: Record<string, Provider> = {
  postgres: "neon",
  postgresql: "neon",
  redis: "upstash",
  kv: "upstash",
};

/** Where a deployment can go (templates with a `provider` parameter). */
export const DEPLOY_PROVIDERS: readonly Provider[] = ["fly", "vercel"];

/** A place, spelled the way each provider wants it. */
export interface RegionSpelling {
  upstash?: string;
  fly?: string;
}

/** Cities and areas people say, with each provider's nearest region. */
export const REGION_PLACES: Record<string, RegionSpelling> = {
  frankfurt: { upstash: "eu-central-1", fly: "fra" },
  germany: { upstash: "eu-central-1", fly: "fra" },
  ireland: { upstash: "eu-west-1" },
  dublin: { upstash: "eu-west-1" },
  london: { upstash: "eu-west-2", fly: "lhr" },
  amsterdam: { upstash: "eu-west-1", fly: "ams" },
  paris: { upstash: "eu-west-3", fly: "cdg" },
  stockholm: { upstash: "eu-north-1", fly: "arn" },
  virginia: { upstash: "us-east-1", fly: "iad" },
  ashburn: { upstash: "us-east-1", fly: "iad" },
  ohio: { upstash: "us-east-2" },
  california: { upstash: "us-west-1", fly: "sjc" },
  oregon: { upstash: "us-west-2", fly: "sea" },
  seattle: { upstash: "us-west-2", fly: "sea" },
  chicago: { upstash: "us-east-2", fly: "ord" },
  dallas: { upstash: "us-east-2", fly: "dfw" },
  toronto: { upstash: "ca-central-1", fly: "yyz" },
  tokyo: { upstash: "ap-northeast-1", fly: "nrt" },
  singapore: { upstash: "ap-southeast-1", fly: "sin" },
  sydney: { upstash: "ap-southeast-2", fly: "syd" },
  mumbai: { upstash: "ap-south-1", fly: "bom" },
  "sao paulo": { upstash: "sa-east-1", fly: "gru" },
};

/** Fly region codes (https://fly.io/docs/reference/regions/), for recognising "fra" or "iad" in a request. */
export const FLY_REGIONS = new Set(
  "ams arn atl bog bom bos cdg den dfw ewr eze fra gdl gig gru hkg iad jnb lax lhr mad mia nrt ord otp phx qro scl sea sin sjc syd waw yul yyz".split(" "),
);

/** AWS-style region codes, as Upstash spells them. */
export const AWS_REGION = /\b((?:us|eu|ap|sa|ca|me|af)-(?:east|west|north|south|central|northeast|southeast|northwest|southwest)-\d)\b/gi;

export const NUMBER_WORDS: Record<string, number> = {
  one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19, twenty: 20,
  a: 1, an: 1,
};

/** Filler: words that say nothing about which job is meant. */
export const STOPWORDS = new Set(
  ("a an and the to for of on in with using use please me my our i we it its this that some new want need can could would you also then into from by at as be is are " +
    "get let like i'd id d just all every each do does did so what whats how which there their them they your yours have has had will should up out off about " +
    "give make called named").split(" "),
);

/**
 * Synonyms folded before matching (after lowercasing, before stemming). Provider nicknames fold
 * into the provider, so "postgres" matches Neon's templates and "kv" Upstash's.
 */
export const SYNONYMS: Record<string, string> = {
  db: "database",
  dbs: "database",
  databases: "database",
  postgresql: "postgres",
  pg: "postgres",
  flyio: "fly",
  repo: "repository",
  repos: "repository",
  kv: "redis",
  "key-value": "redis",
  crawl: "crawler",
  scraper: "crawler",
  spider: "crawler",
  eslint: "lint",
  linter: "lint",
  tsc: "typecheck",
  types: "typecheck",
  pr: "pull",
  prs: "pull",
  ci: "quality",
  env: "environment",
  envs: "environment",
  vars: "variables",
  todos: "todo",
  fixmes: "fixme",
  hacks: "hack",
  teardown: "tear",
  decommission: "destroy",
  nuke: "destroy",
  healthy: "health",
  up: "up",
  restart: "redeploy",
  snapshot: "backup",
  backups: "backup",
  tenant: "tenant",
  customers: "tenant",
  customer: "tenant",
  microservice: "service",
  // Ways to say "make a new one": one word, so "spin up the RAD crawler" matches "Set up RAD Crawler".
  setup: "create",
  launch: "deploy",
  remove: "delete",
  erase: "delete",
  provision: "create",
  provisioning: "create",
  starter: "scaffold",
  bootstrap: "scaffold",
};
