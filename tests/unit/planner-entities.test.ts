import { describe, expect, it } from "vitest";
import { extractEntities, type Entity } from "../../src/planner/index.ts";

const of = (request: string, kind: Entity["kind"]): Entity[] => extractEntities(request).filter((e) => e.kind === kind);

/** Every entity's span is the text it came from. */
function spansHold(request: string): void {
  for (const e of extractEntities(request)) expect(request.slice(e.span.start, e.span.end)).toBe(e.text);
}

describe("entities, with the span each came from", () => {
  it("names: quoted, called/named, 'for my X service', 'the X project', with the noun they name", () => {
    const request = 'create a neon project called orders with a database named shop for my "billing" service';
    spansHold(request);
    expect(of(request, "name").map((e) => e.kind === "name" && [e.value, e.noun, e.explicit])).toEqual([
      ["orders", "project", true],
      ["shop", "database", true],
      ["billing", "service", true],
    ]);
    expect(of("lint the shop project", "name")).toMatchObject([{ value: "shop", noun: "project", explicit: false, text: "shop" }]);
    expect(of("deploy my web app to vercel", "name")).toEqual([]);
  });

  it("numbers: pull requests (#42, PR 42, pull request 42) and counts (5 tenants, three new tenants)", () => {
    expect(of("Create a database branch for pull request 42", "number")).toMatchObject([{ value: 42, role: "pull_request" }]);
    expect(of("Give PR #17 its own copy", "number")).toMatchObject([{ value: 17, role: "pull_request" }]);
    expect(of("branch for #7", "number")).toMatchObject([{ value: 7, role: "pull_request", text: "#7" }]);
    expect(of("Provision 5 tenants", "number")).toMatchObject([{ value: 5, role: "count", text: "5 tenants" }]);
    expect(of("onboard three new tenants", "number")).toMatchObject([{ value: 3, role: "count" }]);
  });

  it("versions as typed, and completed with a note", () => {
    expect(of("Cut release 3.1.0 of the project called shop", "version")).toMatchObject([{ value: "3.1.0", text: "3.1.0" }]);
    expect(of("prepare release v2", "version")).toMatchObject([{ value: "2.0.0", note: '"release v2" read as 2.0.0' }]);
    expect(of("tag v1.4.2-rc.1", "version")).toMatchObject([{ value: "1.4.2-rc.1" }]);
  });

  it("lists of tenants", () => {
    const request = "Provision tenants acme, globex and initech";
    spansHold(request);
    expect(of(request, "list")).toMatchObject([{ value: ["acme", "globex", "initech"], text: "acme, globex and initech" }]);
  });

  it("regions in each provider's spelling: AWS codes, Fly codes after 'in', cities", () => {
    expect(of("redis in eu-west-1", "region")).toMatchObject([{ value: { upstash: "eu-west-1" } }]);
    expect(of("deploy in Frankfurt", "region")).toMatchObject([{ value: { upstash: "eu-central-1", fly: "fra" }, text: "Frankfurt" }]);
    expect(of("a fly machine in fra", "region")).toMatchObject([{ value: { fly: "fra", upstash: "eu-central-1" } }]);
    // "sea" is a word before it is Seattle's code.
    expect(of("a sea of tests", "region")).toEqual([]);
  });

  it("providers, typos included, and which one the request deploys on", () => {
    const rad = of("Set up RAD Crawler with Neon DB, Fly.io deployment and Upstash Redis", "provider");
    expect(rad.map((e) => e.kind === "provider" && [e.value, e.deploy])).toEqual([
      ["neon", false],
      ["fly", true],
      ["upstash", false],
    ]);
    expect(of("deploy my app to vercell", "provider")).toMatchObject([{ value: "vercel", deploy: true, typo: true }]);
    expect(of("an upstsh redis", "provider")).toMatchObject([{ value: "upstash", typo: true }]);
    expect(of("give me a postgres db", "provider")).toMatchObject([{ value: "neon", text: "postgres" }]);
  });

  it("targets, environments, flags, titles, labels, branches and key=value", () => {
    expect(of("ship it as a preview", "target")).toMatchObject([{ value: "preview" }]);
    expect(of("Tear down the staging environment", "environment")).toMatchObject([{ value: "staging" }]);
    expect(of("a public github repo", "flag")).toMatchObject([{ role: "private", value: false }]);
    expect(of("snapshot it without restoring it", "flag")).toMatchObject([{ role: "restore", value: false }]);
    const pr = 'open a PR titled "Add login" from feature/login to main';
    spansHold(pr);
    expect(of(pr, "title")).toMatchObject([{ value: "Add login" }]);
    expect(of(pr, "name")).toEqual([]);
    expect(of(pr, "branch").map((e) => e.kind === "branch" && [e.value, e.role])).toEqual([
      ["feature/login", "head"],
      ["main", "base"],
    ]);
    expect(of("nightly backup labelled weekly", "label")).toMatchObject([{ value: "weekly" }]);
    expect(of("back up project_id=prj-123", "assignment")).toMatchObject([{ key: "project_id", value: "prj-123" }]);
  });

  it("references to existing things", () => {
    expect(of("Check the health of my rad crawler", "reference")).toMatchObject([{ value: "rad crawler" }]);
    expect(of("back up storefront's database", "reference")).toMatchObject([{ value: "storefront" }]);
  });
});
