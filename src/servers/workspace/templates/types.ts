/** A file to write into a project folder; `path` is relative to that folder. */
export interface GeneratedFile {
  path: string;
  content: string;
}

/** What a template is filled with. */
export interface TemplateVars {
  /** Package name (the project folder's slug). */
  name: string;
  task: string;
  context: string;
}

/** A built-in project scaffold used when no model is configured. */
export interface ProjectTemplate {
  id: string;
  description: string;
  render(vars: TemplateVars): Promise<GeneratedFile[]>;
}
