import { z } from "zod";

/**
 * Parameter schemas shared by the templates. Names are checked here with the strictest pattern any
 * provider accepts (Vercel and Fly want lowercase DNS-like names), so a bad value fails at
 * instantiation with the parameter's name instead of in the middle of a run.
 */
const RESOURCE = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
const DATABASE = /^[a-z_][a-z0-9_]{0,29}$/;
const BRANCH = /^[a-z0-9](?:[a-z0-9._/-]{0,38}[a-z0-9])?$/;

/** A name for projects, apps, caches and folders: lowercase letters, digits and '-', at most 40. */
export function resourceName(fallback: string, description: string) {
  return z
    .string()
    .regex(RESOURCE, "expected lowercase letters, digits and '-', starting and ending with a letter or digit (at most 40)")
    .default(fallback)
    .describe(description);
}

/** A Postgres database name: lowercase letters, digits and '_' (at most 30). */
export function databaseName(fallback: string, description = "Database name") {
  return z.string().regex(DATABASE, "expected lowercase letters, digits and '_', starting with a letter or '_' (at most 30)").default(fallback).describe(description);
}

/** A git or database branch name. */
export function branchName(fallback: string, description: string) {
  return z.string().regex(BRANCH, "expected a branch name: lowercase letters, digits, '.', '_', '/', '-' (at most 40)").default(fallback).describe(description);
}

/** A provider id returned by an earlier run (Neon project, Upstash database, Vercel deployment). */
export function resourceId(description: string) {
  return z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "expected an id: letters, digits, '_' or '-'").describe(description);
}

export const region = z.string().min(1).default("us-east-1").describe("Region of the Redis database (Upstash primary region)");

/** A project folder inside the workspace root. */
export const workspaceProject = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, "expected a folder name: letters, digits, '.', '_' or '-'")
  .describe("Project folder inside the workspace");

/** Fly.io runs container images: one built from the code is required there; the local backend runs the code folder. */
export const flyImage = z
  .string()
  .min(1)
  .optional()
  .describe("Container image built from the code (required on Fly.io; the local backend runs the code folder instead)");

/**
 * Where an app runs, for the templates that deploy or act on a deployed app: one template per job,
 * the provider a parameter (the request's "on Fly.io" sets it).
 */
export const deployProvider = z.enum(["vercel", "fly"]).default("vercel").describe("Where the app is deployed: Vercel, or Fly.io");

export type DeployProvider = z.infer<typeof deployProvider>;
