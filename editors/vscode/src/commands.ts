// The palette commands: each server command runs as a `workspace/executeCommand`
// request and its result (rendered by the server) is shown; plus the
// extension's own Restart Server and Show Output.

import * as vscode from 'vscode';
import { LanguageClient, ResponseError } from 'vscode-languageclient/node';

import {
  CLIENT_COMMANDS,
  InvocationContext,
  SERVER_COMMANDS,
  ServerCommandSpec,
  Target,
  UsageError,
  executeParams,
  needsFolderPick,
  presentation,
  restartable,
  targetFromArgument,
} from './commandSpecs';
import { errorText } from './errors';
import { Reports } from './reports';
import { Server } from './server';

const INVALID_PARAMS = -32602;
const INTERNAL_ERROR = -32603;

/** What the commands act on. */
export interface CommandTargets {
  log: vscode.LogOutputChannel;
  server: Server;
  reports: Reports;
}

export function registerCommands(hotmod: CommandTargets): vscode.Disposable[] {
  const [restartCommand, showOutputCommand] = CLIENT_COMMANDS;
  return [
    ...SERVER_COMMANDS.map((spec) =>
      vscode.commands.registerCommand(spec.id, (argument: unknown) => runServerCommand(hotmod, spec, argument)),
    ),
    vscode.commands.registerCommand(restartCommand.id, () => hotmod.server.restart('restart requested')),
    vscode.commands.registerCommand(showOutputCommand.id, () => hotmod.log.show(true)),
  ];
}

async function runServerCommand(hotmod: CommandTargets, spec: ServerCommandSpec, argument: unknown): Promise<unknown> {
  const client = await hotmod.server.running();
  if (client === undefined) {
    void vscode.window
      .showErrorMessage('hotmod: the server is not running.', 'Restart Server', 'Show Output')
      .then((choice) => {
        if (choice === 'Restart Server') {
          void hotmod.server.restart('restart requested');
        } else if (choice === 'Show Output') {
          hotmod.log.show(true);
        }
      });
    return undefined;
  }
  let params;
  try {
    const context = invocationContext(client, argument);
    if (needsFolderPick(spec, context, vscode.workspace.workspaceFolders?.length ?? 0)) {
      const folder = await vscode.window.showWorkspaceFolderPick({ placeHolder: `hotmod: ${spec.title} in which folder?` });
      if (folder === undefined) {
        return undefined; // the user dismissed the choice
      }
      context.activeFolderUri = client.code2ProtocolConverter.asUri(folder.uri);
    }
    let more: Record<string, unknown> = {};
    if (spec.result === 'liveRestart') {
      const picked = await pickProcess(hotmod, client, context);
      if (picked === null) {
        return undefined; // the user dismissed the choice
      }
      more = picked;
    }
    params = executeParams(spec, context, more);
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
      () => client.sendRequest('workspace/executeCommand', params),
    );
  } catch (error) {
    reportCommandError(hotmod.log, spec, error);
    return undefined;
  }
  await showResult(hotmod, spec, result);
  return result;
}

/**
 * Restart Process: with several programs that `hotmod run` started, which one
 * (a quick pick); with none or one, the server decides (and says why not).
 * null: the user dismissed the pick.
 */
async function pickProcess(
  hotmod: CommandTargets,
  client: LanguageClient,
  context: InvocationContext,
): Promise<Record<string, unknown> | null> {
  const list = SERVER_COMMANDS.find((s) => s.result === 'live');
  if (!list) {
    return {};
  }
  let processes;
  try {
    processes = restartable(await client.sendRequest('workspace/executeCommand', executeParams(list, context)));
  } catch (error) {
    hotmod.log.warn(`${list.server} failed: ${errorText(error)}`);
    return {};
  }
  if (processes.length < 2) {
    return {};
  }
  const choice = await vscode.window.showQuickPick(
    processes.map((p) => ({ label: `pid ${p.pid}`, description: p.command, pid: p.pid })),
    { title: 'hotmod: restart which process?', placeHolder: 'Processes started by hotmod run' },
  );
  return choice ? { pid: choice.pid } : null;
}

function invocationContext(client: LanguageClient, argument: unknown): InvocationContext {
  const asUri = (uri: vscode.Uri): string => client.code2ProtocolConverter.asUri(uri);
  const explicit: Target | undefined =
    argument instanceof vscode.Uri ? { uri: asUri(argument) } : targetFromArgument(argument);
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

function reportCommandError(log: vscode.LogOutputChannel, spec: ServerCommandSpec, error: unknown): void {
  const message = errorText(error);
  log.warn(`${spec.server} failed: ${message}`);
  if (error instanceof ResponseError && error.code === INVALID_PARAMS) {
    void vscode.window.showWarningMessage(`hotmod: ${message}`);
  } else if (error instanceof ResponseError && error.code === INTERNAL_ERROR) {
    // The server has shown this failure itself (window/showMessage).
  } else {
    void vscode.window.showErrorMessage(`hotmod: ${spec.title} failed: ${message}`, 'Show Output').then((choice) => {
      if (choice) {
        log.show(true);
      }
    });
  }
}

async function showResult(hotmod: CommandTargets, spec: ServerCommandSpec, result: unknown): Promise<void> {
  const view = presentation(spec, result);
  hotmod.log.info(view.message);
  switch (spec.result) {
    case 'reload':
    case 'reloadAll':
    case 'refresh':
      notify(view.message, view.failed, () => hotmod.reports.show(view.title, view.markdown));
      return;
    case 'devMode':
    case 'liveRestart':
      void vscode.window.showInformationMessage(view.message);
      return;
    case 'liveApply':
      notify(view.message, view.failed, () => hotmod.reports.show(view.title, view.markdown));
      return;
    default:
      // The profile's HTML report is opened by the server itself (window/showDocument).
      await hotmod.reports.show(view.title, view.markdown);
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
