// Interpreters: the Python extension's selected one (through its published API,
// @vscode/python-extension; everything works without that extension), and
// asking any interpreter for its version.

import * as fs from 'node:fs';
import { execFile } from 'node:child_process';
import * as vscode from 'vscode';
import { PythonExtension } from '@vscode/python-extension';

import { errorText } from './errors';
import { PROBE_SCRIPT, Probe, findOnPath, parseProbe } from './launch';

const PYTHON_EXTENSION_ID = 'ms-python.python';
const ACTIVATION_TIMEOUT_MS = 20_000;

/** The Python extension's API, or undefined when it is not installed, is disabled or fails. */
async function pythonApi(log: vscode.LogOutputChannel): Promise<PythonExtension | undefined> {
  if (vscode.extensions.getExtension(PYTHON_EXTENSION_ID) === undefined) {
    return undefined;
  }
  try {
    return await withTimeout(PythonExtension.api(), ACTIVATION_TIMEOUT_MS, 'activating the Python extension');
  } catch (error) {
    log.warn(`The Python extension's API is unavailable: ${errorText(error)}`);
    return undefined;
  }
}

/** The interpreter selected in the Python extension for `resource`, if it is installed. */
export async function selectedInterpreter(
  log: vscode.LogOutputChannel,
  resource: vscode.Uri | undefined,
): Promise<string | undefined> {
  const api = await pythonApi(log);
  if (api === undefined) {
    return undefined;
  }
  try {
    const environment = await api.environments.resolveEnvironment(api.environments.getActiveEnvironmentPath(resource));
    return environment?.executable.uri?.fsPath;
  } catch (error) {
    log.warn(`The Python extension did not tell its interpreter: ${errorText(error)}`);
    return undefined;
  }
}

/** Calls `listener` when the Python extension's selected interpreter changes. */
export function onDidChangeSelectedInterpreter(
  log: vscode.LogOutputChannel,
  listener: () => void,
  disposables: vscode.Disposable[],
): void {
  if (vscode.extensions.getExtension(PYTHON_EXTENSION_ID) === undefined) {
    return;
  }
  void pythonApi(log).then((api) => {
    if (api) {
      disposables.push(api.environments.onDidChangeActiveEnvironmentPath(listener));
    }
  });
}

/** Asks an interpreter for its version (and whether hotmod is installed there). */
export function probe(python: string): Promise<Probe | undefined> {
  return new Promise((resolve) => {
    execFile(python, ['-c', PROBE_SCRIPT], { timeout: 15_000 }, (error, stdout) =>
      resolve(error === null ? parseProbe(stdout) : undefined),
    );
  });
}

/** The full path of an executable on PATH. */
export function which(name: string): string | undefined {
  return findOnPath(name, process.env.PATH, isExecutableFile, process.platform, process.env.PATHEXT);
}

function isExecutableFile(candidate: string): boolean {
  try {
    fs.accessSync(candidate, fs.constants.X_OK);
    return fs.statSync(candidate).isFile();
  } catch {
    return false;
  }
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
