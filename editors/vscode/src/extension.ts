// Activation: builds the extension's one state object (log, status bar, reports,
// server) and wires it to VS Code's events. Each part lives in its own module;
// the logic they share is in the vscode-free modules (settings, launch,
// commandSpecs, statusView), unit-tested under plain node.

import * as fs from 'node:fs';
import * as vscode from 'vscode';

import { CLIENT_COMMANDS } from './commandSpecs';
import { registerCommands } from './commands';
import { onDidChangeSelectedInterpreter } from './python';
import { Reports } from './reports';
import { SECTION, Server } from './server';
import { declaredSettings } from './settings';
import { StatusBar } from './status';

/** Settings the language client reads itself, without a restart. */
const LIVE_CLIENT_SETTINGS = new Set(['trace.server']);

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('hotmod', { log: true });
  const settings = declaredSettings(context.extension.packageJSON);
  const bundledServer = context.asAbsolutePath('bundled/serve.py');
  const [, showOutput] = CLIENT_COMMANDS;
  const status = new StatusBar(showOutput.id);
  const hotmod = {
    log,
    status,
    reports: new Reports(log),
    server: new Server({
      log,
      status,
      settings,
      bundledServer: fs.existsSync(bundledServer) ? bundledServer : undefined,
    }),
  };
  const restartSettings = settings.client.filter((key) => !LIVE_CLIENT_SETTINGS.has(key));
  context.subscriptions.push(
    log,
    hotmod.status,
    hotmod.reports,
    hotmod.server,
    ...registerCommands(hotmod),
    vscode.workspace.onDidChangeConfiguration((event) => {
      const changed = restartSettings.find((key) => event.affectsConfiguration(`${SECTION}.${key}`));
      if (changed) {
        void hotmod.server.restart(`${SECTION}.${changed} changed`);
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void hotmod.server.restart('workspace trusted')),
  );
  onDidChangeSelectedInterpreter(
    log,
    () => void hotmod.server.restart("the Python extension's interpreter changed"),
    context.subscriptions,
  );
  await hotmod.server.start();
}
