// VS Code settings -> what the server is told.
// The settings are declared once, in package.json's `contributes.configuration`
// (checked against the server's own declarations by
// tests/unit/test_settings_declared.py): its category titled like the extension
// holds the server's settings, the "Language Server" category the extension's
// own. Everything here is derived from that manifest.
// No `vscode` import here: this module is unit-tested under plain node.

/** The title of the manifest's category of the extension's own settings (never sent). */
export const CLIENT_CATEGORY = 'Language Server';
const SECTION = 'hotmod';

export interface DeclaredSettings {
  /** The server's settings, by the names it knows them (`moduleDirs`, ...), in manifest order. */
  readonly server: readonly string[];
  /** The extension's own settings (`interpreter`, ...): never sent to the server. */
  readonly client: readonly string[];
  /** Each setting's declared default, by name. */
  readonly defaults: Readonly<Record<string, unknown>>;
}

interface Category {
  title?: unknown;
  properties?: Record<string, { default?: unknown }>;
}

/** Reads the settings out of the extension's package.json. */
export function declaredSettings(manifest: unknown): DeclaredSettings {
  const raw = (manifest as { contributes?: { configuration?: unknown } } | undefined)?.contributes?.configuration;
  const categories = (Array.isArray(raw) ? raw : [raw]) as Category[];
  const server: string[] = [];
  const client: string[] = [];
  const defaults: Record<string, unknown> = {};
  for (const category of categories) {
    for (const [key, schema] of Object.entries(category?.properties ?? {})) {
      const name = key.slice(SECTION.length + 1);
      (category.title === CLIENT_CATEGORY ? client : server).push(name);
      defaults[name] = schema.default;
    }
  }
  if (server.length === 0 || client.length === 0) {
    throw new Error(`package.json declares no ${server.length === 0 ? 'server' : 'client'} settings`);
  }
  return { server, client, defaults };
}

export interface Vars {
  /** Path of the (first) workspace folder, for `${workspaceFolder}`. */
  workspaceFolder?: string;
  /** The user's home directory, for a leading `~`. */
  home?: string;
}

/** Expands `${workspaceFolder}`, `${userHome}` and a leading `~` in a path setting. */
export function expandVars(value: string, vars: Vars): string {
  let out = value.trim();
  if (vars.home !== undefined) {
    if (out === '~' || out.startsWith('~/') || out.startsWith('~\\')) {
      out = vars.home + out.slice(1);
    }
    out = out.split('${userHome}').join(vars.home);
  }
  if (vars.workspaceFolder !== undefined) {
    out = out.split('${workspaceFolder}').join(vars.workspaceFolder);
  }
  return out;
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null) {
    return true;
  }
  if (typeof value === 'string') {
    return value.trim() === '';
  }
  if (Array.isArray(value)) {
    return value.length === 0;
  }
  if (typeof value === 'object') {
    return Object.keys(value).length === 0;
  }
  return false;
}

/** The server setting that is a path (expanded like `hotmod.interpreter`). */
export const PYTHON_SETTING = 'python';

export interface SettingsContext extends Vars {
  /**
   * The project's interpreter to send when `python` is not set: the Python
   * extension's selected interpreter when the server runs on another one.
   */
  projectPython?: string;
}

/**
 * The `hotmod` configuration section as the server should see it.
 *
 * Only the server's keys are kept, and unset values (`null`, `""`, `[]`, `{}`)
 * are left out so that the workspace's `[tool.hotmod]` table and the server's
 * own defaults apply: VS Code reports every declared setting, defaults
 * included, and a default sent here would override `pyproject.toml`. That is
 * why the engine's settings are declared with empty defaults; a server switch
 * with a real default (`reloadOnSave`) is always sent, its default when VS Code
 * did not report it.
 */
export function serverSettings(
  declared: DeclaredSettings,
  raw: Readonly<Record<string, unknown>> | undefined | null,
  context: SettingsContext = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const source = raw ?? {};
  for (const key of declared.server) {
    let value = source[key] ?? declared.defaults[key];
    if (isEmpty(value)) {
      continue;
    }
    if (key === PYTHON_SETTING && typeof value === 'string') {
      value = expandVars(value, context);
    }
    out[key] = value;
  }
  if (out[PYTHON_SETTING] === undefined && context.projectPython) {
    out[PYTHON_SETTING] = context.projectPython;
  }
  return out;
}

/**
 * Tells the server that this extension shows command results itself, so the
 * server does not open its own report documents (docs/commands.md).
 */
export const CLIENT_ID = { hotmodClient: 'vscode' } as const;

/** `initializationOptions` for `initialize`: the settings, the workspace's trust, who we are. */
export function initializationOptions(
  declared: DeclaredSettings,
  raw: Readonly<Record<string, unknown>> | undefined | null,
  trusted: boolean,
  context: SettingsContext = {},
): Record<string, unknown> {
  return { ...serverSettings(declared, raw, context), trusted, ...CLIENT_ID };
}
