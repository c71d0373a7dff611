// The palette commands, how each becomes a `workspace/executeCommand` request, and
// what of its result is shown (the server renders it: `message` and `markdown`).
// No `vscode` import here: this module is unit-tested under plain node.

/** How a command's result is shown. */
export type ResultKind =
  | 'reload'
  | 'reloadAll'
  | 'refresh'
  | 'devMode'
  | 'performance'
  | 'memory'
  | 'profile'
  | 'status'
  | 'live'
  | 'liveApply'
  | 'liveRestart';

export interface ServerCommandSpec {
  /** Client-side command id (VS Code command palette). */
  id: string;
  /** The server's command (docs/commands.md). */
  server: string;
  /** Palette title, shown as "hotmod: <title>". */
  title: string;
  /** `file`: needs a module (a file URI or a module name); `folder`: a workspace folder. */
  target: 'file' | 'folder';
  result: ResultKind;
  /** Keys the argument always has (one server command, two palette entries). */
  fixed?: Record<string, unknown>;
}

/**
 * Client-side ids differ from the server's: vscode-languageclient registers the
 * server's own ids (from `executeCommandProvider.commands`) as VS Code commands
 * that forward to the server and drop the result.
 */
export const SERVER_COMMANDS: readonly ServerCommandSpec[] = [
  { id: 'hotmod.client.reloadModule', server: 'hotmod.reloadModule', title: 'Reload Module', target: 'file', result: 'reload' },
  { id: 'hotmod.client.reloadAll', server: 'hotmod.reloadAll', title: 'Reload All Modules', target: 'folder', result: 'reloadAll' },
  { id: 'hotmod.client.refresh', server: 'hotmod.refresh', title: 'Refresh Modules (rescan the workspace)', target: 'folder', result: 'refresh' },
  { id: 'hotmod.client.toggleDevMode', server: 'hotmod.toggleDevMode', title: 'Toggle Dev Mode', target: 'folder', result: 'devMode' },
  { id: 'hotmod.client.performanceSummary', server: 'hotmod.performanceSummary', title: 'Show Performance Summary', target: 'folder', result: 'performance' },
  { id: 'hotmod.client.memoryReport', server: 'hotmod.memoryReport', title: 'Show Memory Report', target: 'folder', result: 'memory' },
  { id: 'hotmod.client.profileModule', server: 'hotmod.profileModule', title: 'Profile Module', target: 'file', result: 'profile' },
  { id: 'hotmod.client.status', server: 'hotmod.status', title: 'Show Status', target: 'folder', result: 'status' },
  { id: 'hotmod.client.liveProcesses', server: 'hotmod.liveProcesses', title: 'Live: Show Attached Processes', target: 'folder', result: 'live' },
  { id: 'hotmod.client.liveApply', server: 'hotmod.liveApply', title: 'Live: Apply Now', target: 'folder', result: 'liveApply' },
  {
    id: 'hotmod.client.liveApplyRerun',
    server: 'hotmod.liveApply',
    title: 'Live: Apply Now, Re-running Changed Modules',
    target: 'folder',
    result: 'liveApply',
    fixed: { rerun: true },
  },
  { id: 'hotmod.client.liveRestart', server: 'hotmod.liveRestart', title: 'Live: Restart Process', target: 'folder', result: 'liveRestart' },
];

/** Commands of the extension itself (no server request). */
export const CLIENT_COMMANDS = [
  { id: 'hotmod.client.restartServer', title: 'Restart Server' },
  { id: 'hotmod.client.showOutput', title: 'Show Output' },
] as const;

export function specFor(id: string): ServerCommandSpec | undefined {
  return SERVER_COMMANDS.find((spec) => spec.id === id || spec.server === id);
}

/** A problem the user can fix (no file open, ...): shown as a warning, not an error. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** What the command is about, when the caller said it (menus pass a URI, lenses an object). */
export interface Target {
  uri?: string;
  module?: string;
}

export interface InvocationContext {
  /** What the command was invoked with, already turned into a Target (or nothing). */
  explicit?: Target;
  /** URI of the active editor's document, when it is a file. */
  activeFileUri?: string;
  /** Its language id. */
  activeLanguageId?: string;
  /** URI of the workspace folder of the active document. */
  activeFolderUri?: string;
}

/** Reads a Target out of an argument from a code lens or another extension. */
export function targetFromArgument(argument: unknown): Target | undefined {
  if (typeof argument === 'string' && argument !== '') {
    return argument.includes(':') ? { uri: argument } : { module: argument };
  }
  if (argument === null || typeof argument !== 'object') {
    return undefined;
  }
  const record = argument as Record<string, unknown>;
  if (typeof record.module === 'string' && record.module !== '') {
    return { module: record.module };
  }
  if (typeof record.uri === 'string' && record.uri !== '') {
    return { uri: record.uri };
  }
  return undefined;
}

/** The single object argument the server command takes (docs/commands.md). */
export function serverArgument(spec: ServerCommandSpec, ctx: InvocationContext): Record<string, unknown> {
  const explicit = ctx.explicit;
  if (spec.target === 'file') {
    if (explicit?.module) {
      return { module: explicit.module };
    }
    if (explicit?.uri) {
      return { uri: explicit.uri };
    }
    if (ctx.activeFileUri && (ctx.activeLanguageId === undefined || ctx.activeLanguageId === 'python')) {
      return { uri: ctx.activeFileUri };
    }
    throw new UsageError(
      spec.result === 'profile'
        ? 'hotmod: open a Python file of the workspace to profile its import.'
        : 'hotmod: open a Python file of the workspace to reload it (or run "hotmod: Reload All Modules").',
    );
  }
  if (explicit?.uri) {
    return { uri: explicit.uri };
  }
  if (ctx.activeFolderUri) {
    return { uri: ctx.activeFolderUri };
  }
  return {};
}

/** Whether a folder command must ask the user which folder: several are open and
 * nothing (an argument, the active editor) says which; the server would refuse to guess. */
export function needsFolderPick(spec: ServerCommandSpec, ctx: InvocationContext, folders: number): boolean {
  return spec.target === 'folder' && folders > 1 && !ctx.explicit?.uri && !ctx.activeFolderUri;
}

export interface ExecuteCommandParams {
  command: string;
  arguments: unknown[];
}

/** The `workspace/executeCommand` params for a palette command; `more`: keys the
 * extension worked out (the process a Restart Process picked). */
export function executeParams(
  spec: ServerCommandSpec,
  ctx: InvocationContext,
  more: Record<string, unknown> = {},
): ExecuteCommandParams {
  return { command: spec.server, arguments: [{ ...serverArgument(spec, ctx), ...spec.fixed, ...more }] };
}

/** An attached process as `hotmod.liveProcesses` lists it (docs/commands.md). */
export interface LiveProcess {
  pid: number;
  command: string;
  restartable: boolean;
}

/** The processes of a `hotmod.liveProcesses` result that `hotmod run` can restart. */
export function restartable(result: unknown): LiveProcess[] {
  const processes = isRecord(result) && Array.isArray(result.processes) ? result.processes : [];
  return processes.filter(
    (p): p is LiveProcess =>
      isRecord(p) && typeof p.pid === 'number' && typeof p.command === 'string' && p.restartable === true,
  );
}

/**
 * Code lenses name the server's command (`hotmod.reloadModule`); run the
 * client's instead so that the result is shown. Others are left alone.
 */
export function lensCommandId(command: string): string {
  const spec = SERVER_COMMANDS.find((s) => s.server === command);
  return spec ? spec.id : command;
}

/** What the extension shows of a command's result; the server has rendered it. */
export interface Presentation {
  /** One line, for a notification. */
  message: string;
  /** The whole report, shown in the markdown preview. */
  markdown: string;
  /** Modules that failed to import (reloads): offers "Show Problems". */
  failed: number;
  /** The report's tab. */
  title: string;
}

const REPORT_TITLES: Record<ResultKind, string> = {
  reload: 'hotmod reload',
  reloadAll: 'hotmod reload all',
  refresh: 'hotmod refresh',
  devMode: 'hotmod dev mode',
  performance: 'hotmod performance summary',
  memory: 'hotmod memory report',
  profile: 'hotmod profile',
  status: 'hotmod status',
  live: 'hotmod live processes',
  liveApply: 'hotmod live apply',
  liveRestart: 'hotmod live restart',
};

/** Reads a result defensively: it comes from another process (docs/commands.md). */
export function presentation(spec: ServerCommandSpec, result: unknown): Presentation {
  const record = isRecord(result) ? result : {};
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  const message = text(record.message) ?? `${spec.title}: the server sent no message`;
  const markdown = text(record.markdown) ?? `# ${REPORT_TITLES[spec.result]}\n\n${message}\n`;
  let failed = 0;
  if (spec.result === 'reload') {
    const modules = [record.result, ...(Array.isArray(record.dependents) ? record.dependents : [])];
    failed = modules.filter((m) => isRecord(m) && m.status === 'error').length;
  } else if (spec.result === 'liveApply' && Array.isArray(record.outcomes)) {
    failed = record.outcomes.filter((o) => isRecord(o) && o.ok === false).length;
  } else if (typeof record.failed === 'number') {
    failed = record.failed;
  }
  const module = spec.result === 'profile' ? text(record.module) : undefined;
  const title = module ? `${REPORT_TITLES[spec.result]} ${module}` : REPORT_TITLES[spec.result];
  return { message, markdown, failed, title };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
