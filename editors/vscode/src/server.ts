// Starting, stopping and restarting the language client (and so the server),
// one step at a time.

import * as os from 'node:os';
import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, ServerOptions, State } from 'vscode-languageclient/node';

import { lensCommandId } from './commandSpecs';
import { errorText } from './errors';
import { Launch, chooseLaunch, projectPython } from './launch';
import { probe, selectedInterpreter, which } from './python';
import { DeclaredSettings, SettingsContext, Vars, expandVars, initializationOptions, serverSettings } from './settings';
import { StatusBar } from './status';
import { STATUS_NOTIFICATION, parseStatus } from './statusView';

export const SECTION = 'hotmod';

export interface ServerOptionsOfExtension {
  log: vscode.LogOutputChannel;
  status: StatusBar;
  settings: DeclaredSettings;
  /** `bundled/serve.py` of this extension; undefined when the build has no bundled server. */
  bundledServer: string | undefined;
}

/** The hotmod language server: at most one client, started and stopped in order. */
export class Server implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private lifecycle: Promise<void> = Promise.resolve();

  constructor(private readonly options: ServerOptionsOfExtension) {}

  start(): Promise<void> {
    return this.enqueue(() => this.startClient());
  }

  restart(reason: string): Promise<void> {
    this.options.log.info(`Restarting the server (${reason}).`);
    return this.enqueue(async () => {
      await this.stopClient();
      await this.startClient();
    });
  }

  stop(): Promise<void> {
    return this.enqueue(() => this.stopClient());
  }

  /** The client once pending starts and stops are done, if its server is running. */
  async running(): Promise<LanguageClient | undefined> {
    await this.lifecycle;
    return this.client?.isRunning() ? this.client : undefined;
  }

  dispose(): void {
    void this.stop();
  }

  /** Starts and stops run one at a time, in order; a failed step does not block the next. */
  private enqueue(step: () => Promise<void>): Promise<void> {
    this.lifecycle = this.lifecycle
      .then(step)
      .catch((error: unknown) => this.options.log.error(`Unexpected error: ${errorText(error)}`));
    return this.lifecycle;
  }

  private async stopClient(): Promise<void> {
    const current = this.client;
    this.client = undefined;
    if (current === undefined) {
      return;
    }
    try {
      if (current.isRunning()) {
        await current.stop(3000);
      }
    } catch (error) {
      this.options.log.warn(`Stopping the server failed: ${errorText(error)}`);
    }
    try {
      await current.dispose(1000);
    } catch {
      // already stopped
    }
  }

  private async startClient(): Promise<void> {
    const { log, status } = this.options;
    status.setClientState('starting');
    const firstFolder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const config = vscode.workspace.getConfiguration(SECTION);
    const selected = await selectedInterpreter(log, firstFolder);
    const choice = await chooseLaunch({
      strategy: config.get('importStrategy') === 'fromEnvironment' ? 'fromEnvironment' : 'useBundled',
      bundledServer: this.options.bundledServer,
      interpreter: expandVars(config.get<string>('interpreter') ?? '', pathVars(firstFolder)),
      selected,
      probe,
      which,
    });
    choice.notes.forEach((note) => log.info(note));
    if (choice.launch === undefined) {
      this.failed(choice.error ?? 'hotmod: the server cannot be started.');
      return;
    }
    const launch = choice.launch;
    const project = projectPython(launch, selected);
    log.info(`Starting the server: ${commandLine(launch)} (${launch.source})`);
    if (project) {
      log.info(`The project's modules are imported with ${project}, the Python extension's selected interpreter, unless "hotmod.python" is set.`);
    }

    const created = new LanguageClient(SECTION, 'hotmod', this.serverOptions(launch, firstFolder), this.clientOptions(firstFolder, project));
    this.client = created;
    created.onDidChangeState((event) => {
      if (this.client !== created) {
        return;
      }
      if (event.newState === State.Running) {
        status.setClientState('running');
      } else if (event.newState === State.Starting) {
        status.setClientState('starting');
      } else {
        status.setClientState('stopped');
      }
    });
    created.onNotification(STATUS_NOTIFICATION, (params: unknown) => {
      const next = parseStatus(params);
      if (this.client !== created || next === undefined) {
        return;
      }
      if (next.state === 'error' && next.message !== status.serverStatus?.message) {
        log.error(`Server error: ${next.message}`);
      }
      status.setServerStatus(next);
    });
    try {
      await created.start();
    } catch (error) {
      if (this.client === created) {
        this.client = undefined;
      }
      this.failed(`hotmod: the server did not start (${commandLine(launch)}): ${errorText(error)}`);
    }
  }

  private failed(message: string): void {
    this.options.status.setClientState('failed');
    this.options.log.error(message);
    void vscode.window.showErrorMessage(message, 'Open Settings', 'Show Output').then((choice) => {
      if (choice === 'Open Settings') {
        void vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.interpreter`);
      } else if (choice === 'Show Output') {
        this.options.log.show(true);
      }
    });
  }

  private serverOptions(launch: Launch, folder: vscode.Uri | undefined): ServerOptions {
    return {
      command: launch.command,
      args: launch.args,
      options: {
        cwd: folder?.scheme === 'file' ? folder.fsPath : undefined,
        env: { ...process.env, PYTHONUNBUFFERED: '1' },
      },
    };
  }

  private clientOptions(firstFolder: vscode.Uri | undefined, project: string | undefined): LanguageClientOptions {
    const { log, settings } = this.options;
    const context = (folder: vscode.Uri | undefined): SettingsContext => ({ ...pathVars(folder), projectPython: project });
    return {
      documentSelector: [{ scheme: 'file', language: 'python' }],
      outputChannel: log,
      traceOutputChannel: log,
      initializationOptions: () =>
        initializationOptions(settings, readServerSettings(settings), vscode.workspace.isTrusted, context(firstFolder)),
      synchronize: { configurationSection: SECTION },
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
              if (item?.section !== SECTION || value === null || typeof value !== 'object') {
                return value;
              }
              const scope = item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined;
              const folder = scope ? vscode.workspace.getWorkspaceFolder(scope)?.uri : firstFolder;
              return serverSettings(settings, value as Record<string, unknown>, context(folder));
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
function readServerSettings(settings: DeclaredSettings): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration(SECTION);
  return Object.fromEntries(settings.server.map((key) => [key, config.get(key)]));
}

function pathVars(folder: vscode.Uri | undefined): Vars {
  return {
    home: os.homedir(),
    workspaceFolder: folder?.scheme === 'file' ? folder.fsPath : undefined,
  };
}

function commandLine(launch: Launch): string {
  return [launch.command, ...launch.args].join(' ');
}
