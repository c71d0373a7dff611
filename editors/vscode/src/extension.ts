// The VS Code glue: starts `hotmod serve`, wires the palette commands, the status
// bar and the result views (the server renders the results; they are shown here).
// The logic lives in the vscode-free modules beside it.

import * as fs from 'node:fs';
import * as os from 'node:os';
import { execFile } from 'node:child_process';
import * as vscode from 'vscode';
import {
  LanguageClient,
  LanguageClientOptions,
  ResponseError,
  ServerOptions,
  State,
} from 'vscode-languageclient/node';

import {
  CLIENT_COMMANDS,
  InvocationContext,
  SERVER_COMMANDS,
  ServerCommandSpec,
  Target,
  UsageError,
  executeParams,
  lensCommandId,
  presentation,
  targetFromArgument,
} from './commands';
import {
  LaunchChoice,
  PROBE_SCRIPT,
  SERVER_SETTINGS,
  Vars,
  chooseLaunch,
  expandVars,
  findOnPath,
  initializationOptions,
  serverSettings,
} from './settings';
import { ClientState, STATUS_NOTIFICATION, StatusParams, parseStatus, statusView } from './status';

const REPORT_SCHEME = 'hotmod-report';
const INVALID_PARAMS = -32602;
const INTERNAL_ERROR = -32603;

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let statusItem: vscode.StatusBarItem;
let reports: Reports;
let clientState: ClientState = 'starting';
let lastStatus: StatusParams | undefined;
let lifecycle: Promise<void> = Promise.resolve();

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('hotmod');
  statusItem = vscode.window.createStatusBarItem('hotmod.status', vscode.StatusBarAlignment.Left, 10);
  statusItem.name = 'hotmod';
  statusItem.command = 'hotmod.client.showOutput';
  reports = new Reports();
  context.subscriptions.push(
    output,
    statusItem,
    reports,
    vscode.workspace.registerTextDocumentContentProvider(REPORT_SCHEME, reports),
  );
  setClientState('starting');
  statusItem.show();

  for (const spec of SERVER_COMMANDS) {
    context.subscriptions.push(
      vscode.commands.registerCommand(spec.id, (argument: unknown) => runServerCommand(spec, argument)),
    );
  }
  const [restartCommand, showOutputCommand] = CLIENT_COMMANDS;
  context.subscriptions.push(
    vscode.commands.registerCommand(restartCommand.id, () => restart('restart requested')),
    vscode.commands.registerCommand(showOutputCommand.id, () => output.show(true)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('hotmod.interpreter')) {
        void restart('hotmod.interpreter changed');
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void restart('workspace trusted')),
  );
  watchPythonExtension(context);

  await enqueue(() => startClient());
}

export async function deactivate(): Promise<void> {
  await stopClient();
}

// -- the language client -------------------------------------------------------------

/** Starts and stops run one at a time, in order; a failed step does not block the next. */
function enqueue(step: () => Promise<void>): Promise<void> {
  lifecycle = lifecycle.then(step).catch((error: unknown) => log(`Unexpected error: ${errorText(error)}`));
  return lifecycle;
}

function restart(reason: string): Promise<void> {
  log(`Restarting the server (${reason}).`);
  return enqueue(async () => {
    await stopClient();
    await startClient();
  });
}

async function stopClient(): Promise<void> {
  const current = client;
  client = undefined;
  if (current === undefined) {
    return;
  }
  try {
    if (current.isRunning()) {
      await current.stop(3000);
    }
  } catch (error) {
    log(`Stopping the server failed: ${errorText(error)}`);
  }
  try {
    await current.dispose(1000);
  } catch {
    // already stopped
  }
}

async function startClient(): Promise<void> {
  lastStatus = undefined;
  setClientState('starting');
  const choice = await resolveLaunch();
  if ('error' in choice) {
    setClientState('failed');
    log(choice.error);
    void vscode.window.showErrorMessage(choice.error, 'Open Settings', 'Show Output').then(onFailureChoice);
    return;
  }
  const launch = choice.launch;
  log(`Starting the server: ${[launch.command, ...launch.args].join(' ')} (${launch.source})`);

  const firstFolder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const serverOptions: ServerOptions = {
    command: launch.command,
    args: launch.args,
    options: {
      cwd: firstFolder?.scheme === 'file' ? firstFolder.fsPath : undefined,
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file', language: 'python' }],
    outputChannel: output,
    initializationOptions: () =>
      initializationOptions(readSettings(), vscode.workspace.isTrusted, pathVars(firstFolder)),
    synchronize: { configurationSection: 'hotmod' },
    middleware: {
      workspace: {
        // Answer workspace/configuration with what initializationOptions would say:
        // the server's keys only, unset values left out.
        configuration: async (params, token, next) => {
          const answer = await next(params, token);
          if (!Array.isArray(answer)) {
            return answer;
          }
          return answer.map((value: unknown, i: number) => {
            const item = params.items[i];
            if (item?.section !== 'hotmod' || value === null || typeof value !== 'object') {
              return value;
            }
            const scope = item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined;
            const folder = scope ? vscode.workspace.getWorkspaceFolder(scope)?.uri : firstFolder;
            return serverSettings(value as Record<string, unknown>, pathVars(folder));
          });
        },
      },
      // The server's lenses name `hotmod.reloadModule`: run ours, which shows the result.
      provideCodeLenses: async (document, token, next) => rewriteLenses(await next(document, token)),
      resolveCodeLens: async (lens, token, next) => {
        const resolved = await next(lens, token);
        if (resolved?.command) {
          resolved.command.command = lensCommandId(resolved.command.command);
        }
        return resolved;
      },
    },
  };

  const created = new LanguageClient('hotmod', 'hotmod', serverOptions, clientOptions);
  client = created;
  created.onDidChangeState((event) => {
    if (client !== created) {
      return;
    }
    if (event.newState === State.Running) {
      setClientState('running');
    } else if (event.newState === State.Starting) {
      setClientState('starting');
    } else {
      setClientState('stopped');
    }
  });
  created.onNotification(STATUS_NOTIFICATION, (params: unknown) => {
    if (client !== created) {
      return;
    }
    const status = parseStatus(params);
    if (status === undefined) {
      return;
    }
    if (status.state === 'error' && status.message !== lastStatus?.message) {
      log(`Server error: ${status.message}`);
    }
    lastStatus = status;
    updateStatusItem();
  });
  try {
    await created.start();
  } catch (error) {
    if (client === created) {
      client = undefined;
      setClientState('failed');
    }
    const message = `hotmod: the server did not start (${[launch.command, ...launch.args].join(' ')}): ${errorText(error)}`;
    log(message);
    void vscode.window.showErrorMessage(message, 'Open Settings', 'Show Output').then(onFailureChoice);
  }
}

function onFailureChoice(choice: string | undefined): void {
  if (choice === 'Open Settings') {
    void vscode.commands.executeCommand('workbench.action.openSettings', 'hotmod.interpreter');
  } else if (choice === 'Show Output') {
    output.show(true);
  }
}

function rewriteLenses(lenses: vscode.CodeLens[] | null | undefined): vscode.CodeLens[] | null | undefined {
  for (const lens of lenses ?? []) {
    if (lens.command) {
      lens.command.command = lensCommandId(lens.command.command);
    }
  }
  return lenses;
}

/** The `hotmod` section, with the server's keys only (what `initialize` needs). */
function readSettings(): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration('hotmod');
  const raw: Record<string, unknown> = {};
  for (const key of SERVER_SETTINGS) {
    raw[key] = config.get(key);
  }
  return raw;
}

function pathVars(folder: vscode.Uri | undefined): Vars {
  return {
    home: os.homedir(),
    workspaceFolder: folder?.scheme === 'file' ? folder.fsPath : undefined,
  };
}

// -- which server to start ------------------------------------------------------------

interface PythonEnvironmentPath {
  id: string;
  path: string;
}

interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): PythonEnvironmentPath;
    resolveEnvironment(
      environment: PythonEnvironmentPath | string,
    ): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
    onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
  };
  settings?: {
    getExecutionDetails?(resource?: vscode.Uri): { execCommand: string[] | undefined };
  };
}

async function resolveLaunch(): Promise<LaunchChoice> {
  const firstFolder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const configured = vscode.workspace.getConfiguration('hotmod').get<string>('interpreter') ?? '';
  const interpreter = expandVars(configured, pathVars(firstFolder));
  if (interpreter !== '') {
    return chooseLaunch({ interpreter, interpreterHasHotmod: await hasHotmod(interpreter) });
  }
  const pythonExtension = await pythonExtensionInterpreter(firstFolder);
  let pythonExtensionHasHotmod = false;
  if (pythonExtension !== undefined) {
    pythonExtensionHasHotmod = await hasHotmod(pythonExtension);
    log(
      `The Python extension's interpreter ${pythonExtension} ` +
        (pythonExtensionHasHotmod ? 'has hotmod installed.' : 'has no hotmod installed; trying hotmod on PATH.'),
    );
  }
  const hotmodOnPath = findOnPath('hotmod', process.env.PATH, isExecutableFile, process.platform, process.env.PATHEXT);
  return chooseLaunch({ interpreter, pythonExtension, pythonExtensionHasHotmod, hotmodOnPath });
}

async function pythonApi(): Promise<PythonExtensionApi | undefined> {
  const extension = vscode.extensions.getExtension<PythonExtensionApi>('ms-python.python');
  if (extension === undefined) {
    return undefined;
  }
  if (extension.isActive) {
    return extension.exports;
  }
  return withTimeout(Promise.resolve(extension.activate()), 20000, 'activating the Python extension');
}

async function pythonExtensionInterpreter(resource: vscode.Uri | undefined): Promise<string | undefined> {
  try {
    const api = await pythonApi();
    const environments = api?.environments;
    if (environments) {
      const active = environments.getActiveEnvironmentPath(resource);
      const resolved = await environments.resolveEnvironment(active);
      const executable = resolved?.executable.uri?.fsPath;
      if (executable) {
        return executable;
      }
    }
    const command = api?.settings?.getExecutionDetails?.(resource).execCommand;
    if (command && command.length === 1 && command[0]) {
      return command[0];
    }
  } catch (error) {
    log(`The Python extension did not tell its interpreter: ${errorText(error)}`);
  }
  return undefined;
}

function watchPythonExtension(context: vscode.ExtensionContext): void {
  if (vscode.extensions.getExtension('ms-python.python') === undefined) {
    return;
  }
  void pythonApi()
    .then((api) => {
      const event = api?.environments?.onDidChangeActiveEnvironmentPath;
      if (event) {
        context.subscriptions.push(
          event(() => {
            if ((vscode.workspace.getConfiguration('hotmod').get<string>('interpreter') ?? '') === '') {
              void restart("the Python extension's interpreter changed");
            }
          }),
        );
      }
    })
    .catch(() => undefined);
}

function hasHotmod(python: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(python, ['-c', PROBE_SCRIPT], { timeout: 15000 }, (error) => resolve(error === null));
  });
}

function isExecutableFile(candidate: string): boolean {
  try {
    fs.accessSync(candidate, fs.constants.X_OK);
    return fs.statSync(candidate).isFile();
  } catch {
    return false;
  }
}

// -- commands ---------------------------------------------------------------------------

function invocationContext(current: LanguageClient, argument: unknown): InvocationContext {
  const asUri = (uri: vscode.Uri): string => current.code2ProtocolConverter.asUri(uri);
  let explicit: Target | undefined;
  if (argument instanceof vscode.Uri) {
    explicit = { uri: asUri(argument) };
  } else {
    explicit = targetFromArgument(argument);
  }
  const context: InvocationContext = { explicit };
  const document = vscode.window.activeTextEditor?.document;
  if (document?.uri.scheme === 'file') {
    context.activeFileUri = asUri(document.uri);
    context.activeLanguageId = document.languageId;
    const folder = vscode.workspace.getWorkspaceFolder(document.uri);
    if (folder) {
      context.activeFolderUri = asUri(folder.uri);
    }
  }
  return context;
}

async function runServerCommand(spec: ServerCommandSpec, argument: unknown): Promise<unknown> {
  await lifecycle;
  const current = client;
  if (current === undefined || !current.isRunning()) {
    void vscode.window
      .showErrorMessage('hotmod: the server is not running.', 'Restart Server', 'Show Output')
      .then((choice) => {
        if (choice === 'Restart Server') {
          void restart('restart requested');
        } else if (choice === 'Show Output') {
          output.show(true);
        }
      });
    return undefined;
  }
  let params;
  try {
    params = executeParams(spec, invocationContext(current, argument));
  } catch (error) {
    if (error instanceof UsageError) {
      void vscode.window.showWarningMessage(error.message);
      return undefined;
    }
    throw error;
  }
  let result: unknown;
  try {
    result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `hotmod: ${spec.title}` },
      () => current.sendRequest('workspace/executeCommand', params),
    );
  } catch (error) {
    reportCommandError(spec, error);
    return undefined;
  }
  await showResult(spec, result);
  return result;
}

function reportCommandError(spec: ServerCommandSpec, error: unknown): void {
  const message = errorText(error);
  log(`${spec.server} failed: ${message}`);
  if (error instanceof ResponseError && error.code === INVALID_PARAMS) {
    void vscode.window.showWarningMessage(`hotmod: ${message}`);
  } else if (error instanceof ResponseError && error.code === INTERNAL_ERROR) {
    // The server has shown this failure itself (window/showMessage).
  } else {
    void vscode.window.showErrorMessage(`hotmod: ${spec.title} failed: ${message}`, 'Show Output').then((choice) => {
      if (choice) {
        output.show(true);
      }
    });
  }
}

async function showResult(spec: ServerCommandSpec, result: unknown): Promise<void> {
  const view = presentation(spec, result);
  log(view.message);
  switch (spec.result) {
    case 'reload':
    case 'reloadAll':
    case 'refresh':
      notify(view.message, view.failed, () => reports.show(view.title, view.markdown));
      return;
    case 'devMode':
      void vscode.window.showInformationMessage(view.message);
      return;
    default:
      // The profile's HTML report is opened by the server itself (window/showDocument).
      await reports.show(view.title, view.markdown);
  }
}

/** An information message with "Details" (and "Show Problems" when something broke). */
function notify(text: string, failed: number, details: () => Promise<void>): void {
  const actions = failed > 0 ? ['Details', 'Show Problems'] : ['Details'];
  void vscode.window.showInformationMessage(text, ...actions).then((choice) => {
    if (choice === 'Details') {
      void details();
    } else if (choice === 'Show Problems') {
      void vscode.commands.executeCommand('workbench.actions.view.problems');
    }
  });
}

// -- result documents -----------------------------------------------------------------------

/** Read-only markdown documents (`hotmod-report:`), shown in the markdown preview. */
class Reports implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly contents = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.path) ?? '';
  }

  async show(name: string, markdown: string): Promise<void> {
    const uri = vscode.Uri.from({ scheme: REPORT_SCHEME, path: `/${name}.md` });
    this.contents.set(uri.path, markdown);
    this.changed.fire(uri);
    try {
      await vscode.commands.executeCommand('markdown.showPreviewToSide', uri);
    } catch (error) {
      log(`Markdown preview unavailable (${errorText(error)}); showing the markdown source.`);
      const document = await vscode.workspace.openTextDocument(uri);
      await vscode.window.showTextDocument(document, { preview: true, viewColumn: vscode.ViewColumn.Beside });
    }
  }

  dispose(): void {
    this.changed.dispose();
  }
}

// -- status bar and log -----------------------------------------------------------------------

function setClientState(state: ClientState): void {
  clientState = state;
  updateStatusItem();
}

function updateStatusItem(): void {
  if (statusItem === undefined) {
    return;
  }
  const view = statusView(clientState, lastStatus);
  statusItem.text = view.text;
  statusItem.tooltip = view.tooltip;
  statusItem.backgroundColor = view.severity
    ? new vscode.ThemeColor(view.severity === 'error' ? 'statusBarItem.errorBackground' : 'statusBarItem.warningBackground')
    : undefined;
}

function log(message: string): void {
  output?.appendLine(`[client ${new Date().toISOString().slice(11, 23)}] ${message}`);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms ${what}`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
