// VS Code settings -> what the server is told, and how the server is started.
// No `vscode` import here: this module is unit-tested under plain node.

/** The server's settings (docs/commands.md), in the order of that table. */
export const SERVER_SETTINGS = [
  'moduleDirs',
  'exclude',
  'python',
  'env',
  'importTimeoutS',
  'memoryLimitMb',
  'slowThresholdMs',
  'devMode',
  'traceMemory',
  'sideEffects',
  'history',
  'historyKeep',
  'regressionRatio',
  'regressionMinMs',
  'reloadOnSave',
] as const;

export type ServerSettingKey = (typeof SERVER_SETTINGS)[number];

/** Settings of this extension only: never sent to the server. */
export const CLIENT_SETTINGS = ['interpreter', 'trace.server'] as const;

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

/**
 * The `hotmod` configuration section as the server should see it.
 *
 * Only the server's keys are kept, and unset values (`null`, `""`, `[]`, `{}`)
 * are left out so that the workspace's `[tool.hotmod]` table and the server's
 * own defaults apply: VS Code reports every declared setting, defaults
 * included, and a default sent here would override `pyproject.toml`.
 * `reloadOnSave` is a server-only switch and is always sent.
 */
export function serverSettings(
  raw: Readonly<Record<string, unknown>> | undefined | null,
  vars: Vars = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const source = raw ?? {};
  for (const key of SERVER_SETTINGS) {
    let value = source[key];
    if (key === 'reloadOnSave') {
      out[key] = typeof value === 'boolean' ? value : true;
      continue;
    }
    if (isEmpty(value)) {
      continue;
    }
    if (key === 'python' && typeof value === 'string') {
      value = expandVars(value, vars);
    }
    out[key] = value;
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
  raw: Readonly<Record<string, unknown>> | undefined | null,
  trusted: boolean,
  vars: Vars = {},
): Record<string, unknown> {
  return { ...serverSettings(raw, vars), trusted, ...CLIENT_ID };
}

// -- starting the server ------------------------------------------------------

export interface Launch {
  command: string;
  args: string[];
  /** Where the choice came from, for the output channel. */
  source: string;
}

export const SERVE_MODULE = 'hotmod.server.cli';

/** `<python> -m hotmod.server.cli serve`. */
export function pythonLaunch(python: string, source: string): Launch {
  return { command: python, args: ['-m', SERVE_MODULE, 'serve'], source };
}

/** A one-liner that exits 0 when the interpreter can import hotmod's CLI. */
export const PROBE_SCRIPT =
  "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('hotmod.server.cli') else 1)";

export interface LaunchInputs {
  /** `hotmod.interpreter`, already expanded; empty: not set. */
  interpreter: string;
  /** Whether that interpreter runs and has hotmod installed (probed; undefined: not probed). */
  interpreterHasHotmod?: boolean;
  /** The Python extension's selected interpreter, if its API answered. */
  pythonExtension?: string;
  /** Whether that interpreter has hotmod installed (probed). */
  pythonExtensionHasHotmod?: boolean;
  /** Full path of `hotmod` found on PATH, if any. */
  hotmodOnPath?: string;
}

export type LaunchChoice = { launch: Launch } | { error: string };

/**
 * Which server to start: `hotmod.interpreter`, else the Python extension's
 * interpreter when it has hotmod installed, else `hotmod` on PATH.
 */
export function chooseLaunch(inputs: LaunchInputs): LaunchChoice {
  const interpreter = inputs.interpreter.trim();
  if (interpreter !== '') {
    if (inputs.interpreterHasHotmod === false) {
      return {
        error:
          `hotmod: "hotmod.interpreter" is ${interpreter}, which does not run or has no hotmod ` +
          `installed. Install it there (\`${interpreter} -m pip install hotmod\`) or change the setting.`,
      };
    }
    return { launch: pythonLaunch(interpreter, 'setting hotmod.interpreter') };
  }
  if (inputs.pythonExtension && inputs.pythonExtensionHasHotmod) {
    return {
      launch: pythonLaunch(inputs.pythonExtension, "the Python extension's selected interpreter"),
    };
  }
  if (inputs.hotmodOnPath) {
    return { launch: { command: inputs.hotmodOnPath, args: ['serve'], source: 'hotmod on PATH' } };
  }
  const tried = inputs.pythonExtension
    ? ` The Python extension's interpreter (${inputs.pythonExtension}) has no hotmod installed, and there is`
    : ' There is';
  return {
    error:
      'hotmod: cannot find the hotmod server.' +
      tried +
      ' no `hotmod` on PATH. Install it (`pip install hotmod`) or set "hotmod.interpreter" ' +
      'to a Python that has it.',
  };
}

/** Looks `name` up on a PATH string; `isFile` says whether a candidate exists and runs. */
export function findOnPath(
  name: string,
  pathEnv: string | undefined,
  isFile: (candidate: string) => boolean,
  platform: string = process.platform,
  pathExt: string | undefined = undefined,
): string | undefined {
  if (!pathEnv) {
    return undefined;
  }
  const windows = platform === 'win32';
  const separator = windows ? ';' : ':';
  const slash = windows ? '\\' : '/';
  const extensions = windows
    ? (pathExt ?? '.EXE;.CMD;.BAT;.COM').split(';').filter((e) => e !== '')
    : [''];
  for (const dir of pathEnv.split(separator)) {
    if (dir === '') {
      continue;
    }
    const base = dir.endsWith(slash) ? dir + name : dir + slash + name;
    for (const ext of extensions) {
      if (isFile(base + ext)) {
        return base + ext;
      }
    }
  }
  return undefined;
}
