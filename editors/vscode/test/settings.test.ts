import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  SERVER_SETTINGS,
  chooseLaunch,
  expandVars,
  findOnPath,
  initializationOptions,
  serverSettings,
} from '../src/settings';

// What VS Code reports for the `hotmod` section when nothing is set (package.json defaults).
const DEFAULTS = {
  interpreter: '',
  moduleDirs: [],
  exclude: [],
  python: '',
  env: {},
  importTimeoutS: null,
  memoryLimitMb: null,
  slowThresholdMs: null,
  devMode: null,
  traceMemory: null,
  sideEffects: null,
  history: null,
  historyKeep: null,
  regressionRatio: null,
  regressionMinMs: null,
  reloadOnSave: true,
  trace: { server: 'off' },
};

test('defaults send nothing but reloadOnSave, trusted and who we are, so [tool.hotmod] applies', () => {
  const id = { hotmodClient: 'vscode' };
  assert.deepEqual(initializationOptions(DEFAULTS, true), { reloadOnSave: true, trusted: true, ...id });
  assert.deepEqual(initializationOptions(undefined, false), { reloadOnSave: true, trusted: false, ...id });
});

test('every setting maps to the key of docs/commands.md', () => {
  // A set, non-default value for each server setting: each must reach the server unchanged.
  const set = {
    moduleDirs: ['src', 'lib'],
    exclude: ['build/**'],
    python: '/usr/bin/python3',
    env: { DJANGO_SETTINGS_MODULE: 'site.settings' },
    importTimeoutS: 2.5,
    memoryLimitMb: 512,
    slowThresholdMs: 50,
    devMode: false,
    traceMemory: true,
    sideEffects: 'block',
    history: false,
    historyKeep: 50,
    regressionRatio: 2,
    regressionMinMs: 10,
    reloadOnSave: false,
  };
  assert.deepEqual(Object.keys(set).sort(), [...SERVER_SETTINGS].sort(), 'a setting is missing here');
  assert.deepEqual(initializationOptions({ ...DEFAULTS, ...set }, true), {
    ...set,
    trusted: true,
    hotmodClient: 'vscode',
  });
});

test('client-only settings never reach the server', () => {
  const settings = serverSettings({ ...DEFAULTS, interpreter: '/opt/py/bin/python', devMode: true });
  assert.deepEqual(settings, { devMode: true, reloadOnSave: true });
  assert.ok(!('interpreter' in settings));
  assert.ok(!('trace' in settings));
  assert.ok(!('trusted' in settings), 'trusted is an initializationOptions-only key');
});

test('zero and false are real values, not "unset"', () => {
  assert.deepEqual(serverSettings({ importTimeoutS: 0, devMode: false, slowThresholdMs: 0 }), {
    importTimeoutS: 0,
    devMode: false,
    slowThresholdMs: 0,
    reloadOnSave: true,
  });
});

test('python setting expands ${workspaceFolder} and ~', () => {
  const vars = { workspaceFolder: '/ws', home: '/home/me' };
  assert.equal(serverSettings({ python: '${workspaceFolder}/.venv/bin/python' }, vars).python, '/ws/.venv/bin/python');
  assert.equal(serverSettings({ python: '~/py/bin/python' }, vars).python, '/home/me/py/bin/python');
  assert.equal(expandVars('  ${userHome}/x ', vars), '/home/me/x');
  assert.equal(expandVars('a~b', vars), 'a~b');
  assert.equal(expandVars('${workspaceFolder}/x', {}), '${workspaceFolder}/x');
});

test('SERVER_SETTINGS is the settings table of docs/commands.md minus trusted', () => {
  assert.deepEqual([...SERVER_SETTINGS].sort(), [
    'devMode',
    'env',
    'exclude',
    'history',
    'historyKeep',
    'importTimeoutS',
    'memoryLimitMb',
    'moduleDirs',
    'python',
    'regressionMinMs',
    'regressionRatio',
    'reloadOnSave',
    'sideEffects',
    'slowThresholdMs',
    'traceMemory',
  ]);
});

test('launch: hotmod.interpreter wins', () => {
  const choice = chooseLaunch({
    interpreter: '/venv/bin/python',
    pythonExtension: '/other/python',
    pythonExtensionHasHotmod: true,
    hotmodOnPath: '/usr/bin/hotmod',
  });
  assert.deepEqual(choice, {
    launch: { command: '/venv/bin/python', args: ['-m', 'hotmod.server.cli', 'serve'], source: 'setting hotmod.interpreter' },
  });
});

test('launch: hotmod.interpreter without hotmod is an error that says how to fix it', () => {
  const choice = chooseLaunch({ interpreter: '/venv/bin/python', interpreterHasHotmod: false, hotmodOnPath: '/usr/bin/hotmod' });
  assert.ok('error' in choice);
  assert.match(choice.error, /\/venv\/bin\/python -m pip install hotmod/);
  const probed = chooseLaunch({ interpreter: '/venv/bin/python', interpreterHasHotmod: true });
  assert.ok('launch' in probed);
});

test("launch: the Python extension's interpreter when it has hotmod, else hotmod on PATH", () => {
  const withHotmod = chooseLaunch({ interpreter: '', pythonExtension: '/p/python', pythonExtensionHasHotmod: true });
  assert.ok('launch' in withHotmod);
  assert.equal(withHotmod.launch.command, '/p/python');
  assert.deepEqual(withHotmod.launch.args, ['-m', 'hotmod.server.cli', 'serve']);

  const without = chooseLaunch({
    interpreter: ' ',
    pythonExtension: '/p/python',
    pythonExtensionHasHotmod: false,
    hotmodOnPath: '/usr/local/bin/hotmod',
  });
  assert.deepEqual(without, { launch: { command: '/usr/local/bin/hotmod', args: ['serve'], source: 'hotmod on PATH' } });
});

test('launch: a readable error when there is no server anywhere', () => {
  const choice = chooseLaunch({ interpreter: '', pythonExtension: '/p/python', pythonExtensionHasHotmod: false });
  assert.ok('error' in choice);
  assert.match(choice.error, /\/p\/python/);
  assert.match(choice.error, /hotmod\.interpreter/);
  const bare = chooseLaunch({ interpreter: '' });
  assert.ok('error' in bare);
  assert.match(bare.error, /no `hotmod` on PATH/);
});

test('findOnPath: first match on PATH, PATHEXT on Windows', () => {
  const files = new Set(['/b/hotmod', '/c/hotmod', 'C:\\py\\Scripts\\hotmod.EXE']);
  const has = (p: string): boolean => files.has(p);
  assert.equal(findOnPath('hotmod', '/a::/b/:/c', has, 'linux'), '/b/hotmod');
  assert.equal(findOnPath('hotmod', '/a', has, 'linux'), undefined);
  assert.equal(findOnPath('hotmod', undefined, has, 'linux'), undefined);
  assert.equal(findOnPath('hotmod', 'C:\\x;C:\\py\\Scripts', has, 'win32', '.COM;.EXE'), 'C:\\py\\Scripts\\hotmod.EXE');
});
