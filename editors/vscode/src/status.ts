// The status bar item: the client's state, then the server's `hotmod/status`.

import * as vscode from 'vscode';

import { ClientState, StatusParams, statusView } from './statusView';

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private client: ClientState = 'starting';
  private server: StatusParams | undefined;

  constructor(showOutputCommand: string) {
    this.item = vscode.window.createStatusBarItem('hotmod.status', vscode.StatusBarAlignment.Left, 10);
    this.item.name = 'hotmod';
    this.item.command = showOutputCommand;
    this.update();
    this.item.show();
  }

  /** The language client's state; a new server has said nothing yet. */
  setClientState(state: ClientState): void {
    if (state === 'starting') {
      this.server = undefined;
    }
    this.client = state;
    this.update();
  }

  /** The server's last `hotmod/status`. */
  setServerStatus(status: StatusParams): void {
    this.server = status;
    this.update();
  }

  /** The server's last status, to tell a new error from a repeated one. */
  get serverStatus(): StatusParams | undefined {
    return this.server;
  }

  dispose(): void {
    this.item.dispose();
  }

  private update(): void {
    const view = statusView(this.client, this.server);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor = view.severity
      ? new vscode.ThemeColor(view.severity === 'error' ? 'statusBarItem.errorBackground' : 'statusBarItem.warningBackground')
      : undefined;
  }
}
