// Which Python runs which hotmod server: the one bundled in the .vsix
// (`hotmod.importStrategy` "useBundled", the default) or one installed in an
// environment ("fromEnvironment").
// No `vscode` import here: this module is unit-tested under plain node.

export type ImportStrategy = 'useBundled' | 'fromEnvironment';

/** hotmod's server needs this Python; the project's own interpreter may be older. */
export const SERVER_PYTHON: readonly [number, number] = [3, 11];

/** Names tried on PATH for a Python that can run the bundled server, in order. */
export const PYTHON_NAMES = ['python3', 'python', 'python3.14', 'python3.13', 'python3.12', 'python3.11'];

/** What an interpreter said about itself (see PROBE_SCRIPT). */
export interface Probe {
  version: [number, number];
  /** Whether `hotmod.server.cli` is importable there (for "fromEnvironment"). */
  hasHotmod: boolean;
}

/**
 * Prints the interpreter's version and whether it has hotmod, as JSON. Python 2
 * can run it too, so that an old `python` on PATH is told apart from a broken one.
 */
export const PROBE_SCRIPT = [
  'import sys, json',
  'v = list(sys.version_info[:2])',
  'h = False',
  'try:',
  '    import importlib.util',
  "    h = v >= [3, 11] and importlib.util.find_spec('hotmod.server.cli') is not None",
  'except Exception:',
  '    pass',
  "print(json.dumps({'version': v, 'hotmod': h}))",
].join('\n');

/** Reads PROBE_SCRIPT's output; undefined when it is not what the script prints. */
export function parseProbe(stdout: string): Probe | undefined {
  try {
    const data = JSON.parse(stdout.trim()) as { version?: unknown; hotmod?: unknown };
    const v = data.version;
    if (Array.isArray(v) && v.length === 2 && v.every((n) => Number.isInteger(n))) {
      return { version: [v[0] as number, v[1] as number], hasHotmod: data.hotmod === true };
    }
  } catch {
    // not JSON: not our script's output
  }
  return undefined;
}

export interface Launch {
  command: string;
  args: string[];
  /** Where the choice came from, for the log. */
  source: string;
  /** The interpreter that runs the server, when it is known (not for `hotmod` on PATH). */
  python?: string;
}

export interface LaunchInputs {
  strategy: ImportStrategy;
  /** The bundled server's script (`bundled/serve.py`); undefined: this build has none. */
  bundledServer: string | undefined;
  /** `hotmod.interpreter`, already expanded; empty: not set. */
  interpreter: string;
  /** The Python extension's selected interpreter, if it is installed and answered. */
  selected?: string;
  /** Runs PROBE_SCRIPT with an interpreter; undefined when it does not run. */
  probe(python: string): Promise<Probe | undefined>;
  /** The full path of an executable on PATH. */
  which(name: string): string | undefined;
}

export interface LaunchChoice {
  launch?: Launch;
  /** Why there is no launch: shown to the user, with what to do. */
  error?: string;
  /** What was tried and passed over, for the log. */
  notes: string[];
}

const versionText = (probe: Probe): string => probe.version.join('.');
const canServe = (probe: Probe): boolean =>
  probe.version[0] > SERVER_PYTHON[0] || (probe.version[0] === SERVER_PYTHON[0] && probe.version[1] >= SERVER_PYTHON[1]);
const NEEDED = `${SERVER_PYTHON.join('.')}+`;

/**
 * "useBundled": `hotmod.interpreter`, else the Python extension's selected
 * interpreter, else the first Python 3.11+ on PATH runs `bundled/serve.py`.
 * "fromEnvironment": `hotmod.interpreter` (with hotmod), else the selected
 * interpreter when it has hotmod, else `hotmod` on PATH.
 */
export async function chooseLaunch(inputs: LaunchInputs): Promise<LaunchChoice> {
  return inputs.strategy === 'fromEnvironment' ? fromEnvironment(inputs) : useBundled(inputs);
}

async function useBundled(inputs: LaunchInputs): Promise<LaunchChoice> {
  const notes: string[] = [];
  const script = inputs.bundledServer;
  if (script === undefined) {
    return {
      notes,
      error:
        'hotmod: this build of the extension has no bundled server (editors/vscode/bundle.sh was not run). ' +
        'Set "hotmod.importStrategy" to "fromEnvironment" to use a hotmod installed with pip.',
    };
  }
  const bundled = (python: string, source: string): LaunchChoice => ({
    notes,
    launch: { command: python, args: [script], source: `${source}, bundled server`, python },
  });
  const interpreter = inputs.interpreter.trim();
  if (interpreter !== '') {
    const probe = await inputs.probe(interpreter);
    if (probe === undefined || !canServe(probe)) {
      const what = probe === undefined ? 'does not run' : `is Python ${versionText(probe)}`;
      return {
        notes,
        error: `hotmod: "hotmod.interpreter" is ${interpreter}, which ${what}: the hotmod server needs Python ${NEEDED}. Change the setting, or clear it to use any Python ${NEEDED}.`,
      };
    }
    return bundled(interpreter, 'setting hotmod.interpreter');
  }
  if (inputs.selected) {
    const probe = await inputs.probe(inputs.selected);
    if (probe !== undefined && canServe(probe)) {
      return bundled(inputs.selected, "the Python extension's selected interpreter");
    }
    notes.push(
      `The Python extension's interpreter ${inputs.selected} ${probe === undefined ? 'does not run' : `is Python ${versionText(probe)}`}: ` +
        `looking for a Python ${NEEDED} on PATH to run the server (the project is still checked with ${inputs.selected}).`,
    );
  }
  const seen = new Set<string>();
  for (const name of PYTHON_NAMES) {
    const python = inputs.which(name);
    if (python === undefined || seen.has(python)) {
      continue;
    }
    seen.add(python);
    const probe = await inputs.probe(python);
    if (probe !== undefined && canServe(probe)) {
      return bundled(python, `${name} on PATH`);
    }
    notes.push(`${python} ${probe === undefined ? 'does not run' : `is Python ${versionText(probe)}`}.`);
  }
  const selected = inputs.selected ? ` The Python extension's interpreter (${inputs.selected}) is older, and there is` : ' There is';
  return {
    notes,
    error:
      `hotmod: no Python ${NEEDED} to run the hotmod server.${selected} no Python ${NEEDED} on PATH ` +
      `(${PYTHON_NAMES.join(', ')}). Install one, or set "hotmod.interpreter" to one.`,
  };
}

async function fromEnvironment(inputs: LaunchInputs): Promise<LaunchChoice> {
  const notes: string[] = [];
  const module = (python: string, source: string): LaunchChoice => ({
    notes,
    launch: { command: python, args: ['-m', SERVE_MODULE, 'serve'], source, python },
  });
  const interpreter = inputs.interpreter.trim();
  if (interpreter !== '') {
    if ((await inputs.probe(interpreter))?.hasHotmod !== true) {
      return {
        notes,
        error:
          `hotmod: "hotmod.interpreter" is ${interpreter}, which does not run or has no hotmod ` +
          `installed. Install it there (\`${interpreter} -m pip install hotmod\`), change the setting, ` +
          'or set "hotmod.importStrategy" to "useBundled".',
      };
    }
    return module(interpreter, 'setting hotmod.interpreter, hotmod from its environment');
  }
  if (inputs.selected) {
    if ((await inputs.probe(inputs.selected))?.hasHotmod === true) {
      return module(inputs.selected, "the Python extension's selected interpreter, hotmod from its environment");
    }
    notes.push(`The Python extension's interpreter ${inputs.selected} has no hotmod installed; trying hotmod on PATH.`);
  }
  const onPath = inputs.which('hotmod');
  if (onPath) {
    return { notes, launch: { command: onPath, args: ['serve'], source: 'hotmod on PATH' } };
  }
  const tried = inputs.selected
    ? ` The Python extension's interpreter (${inputs.selected}) has no hotmod installed, and there is`
    : ' There is';
  return {
    notes,
    error:
      'hotmod: cannot find an installed hotmod server ("hotmod.importStrategy" is "fromEnvironment").' +
      tried +
      ' no `hotmod` on PATH. Install it (`pip install hotmod`), set "hotmod.interpreter" ' +
      'to a Python that has it, or set "hotmod.importStrategy" to "useBundled".',
  };
}

/** `<python> -m hotmod.server.cli serve` runs an installed hotmod. */
export const SERVE_MODULE = 'hotmod.server.cli';

/**
 * The project's interpreter to send as `python` when that setting is empty:
 * the Python extension's selected interpreter, when the server does not run on
 * it (the server's own interpreter is the server's last default).
 */
export function projectPython(launch: Launch, selected: string | undefined): string | undefined {
  return selected !== undefined && launch.python !== selected ? selected : undefined;
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
  const extensions = windows ? (pathExt ?? '.EXE;.CMD;.BAT;.COM').split(';').filter((e) => e !== '') : [''];
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
