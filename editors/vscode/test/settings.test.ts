import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { declaredSettings, expandVars, initializationOptions, serverSettings } from '../src/settings';

const MANIFEST = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
const DECLARED = declaredSettings(MANIFEST);

// What VS Code reports for the `hotmod` section when nothing is set: the manifest's defaults.
const DEFAULTS: Record<string, unknown> = { ...DECLARED.defaults, trace: { server: 'off' } };

test("the server's settings and the extension's own come from package.json's two categories", () => {
  assert.deepEqual(DECLARED.client, ['importStrategy', 'interpreter', 'trace.server']);
  assert.ok(DECLARED.server.includes('moduleDirs') && DECLARED.server.includes('reloadOnSave'));
  assert.deepEqual(
    DECLARED.server.filter((key) => DECLARED.client.includes(key)),
    [],
    'a setting in both categories',
  );
  assert.equal(DECLARED.defaults.importStrategy, 'useBundled');
});

test('a manifest without both categories is refused, not half-read', () => {
  const server = { title: 'hotmod', properties: { 'hotmod.python': { default: '' } } };
  assert.throws(() => declaredSettings({ contributes: { configuration: server } }), /no client settings/);
  assert.throws(() => declaredSettings({}), /no server settings/);
  const client = { title: 'Language Server', properties: { 'hotmod.interpreter': { default: '' } } };
  assert.deepEqual(declaredSettings({ contributes: { configuration: [server, client] } }), {
    server: ['python'],
    client: ['interpreter'],
    defaults: { python: '', interpreter: '' },
  });
});

test('defaults send nothing but reloadOnSave, trusted and who we are, so [tool.hotmod] applies', () => {
  const id = { hotmodClient: 'vscode' };
  assert.deepEqual(initializationOptions(DECLARED, DEFAULTS, true), { reloadOnSave: true, trusted: true, ...id });
  assert.deepEqual(initializationOptions(DECLARED, undefined, false), { reloadOnSave: true, trusted: false, ...id });
});

test('every server setting reaches the server under its name', () => {
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
    verdictCache: false,
    liveReload: false,
    liveRerun: true,
    reloadOnSave: false,
  };
  assert.deepEqual(Object.keys(set).sort(), [...DECLARED.server].sort(), 'a setting is missing here');
  assert.deepEqual(initializationOptions(DECLARED, { ...DEFAULTS, ...set }, true), {
    ...set,
    trusted: true,
    hotmodClient: 'vscode',
  });
});

test('client-only settings never reach the server', () => {
  const settings = serverSettings(DECLARED, {
    ...DEFAULTS,
    interpreter: '/opt/py/bin/python',
    importStrategy: 'fromEnvironment',
    devMode: true,
  });
  assert.deepEqual(settings, { devMode: true, reloadOnSave: true });
  for (const key of ['interpreter', 'importStrategy', 'trace', 'trusted']) {
    assert.ok(!(key in settings), key);
  }
});

test('zero and false are real values, not "unset"', () => {
  assert.deepEqual(serverSettings(DECLARED, { importTimeoutS: 0, devMode: false, slowThresholdMs: 0 }), {
    importTimeoutS: 0,
    devMode: false,
    slowThresholdMs: 0,
    reloadOnSave: true,
  });
});

test('python setting expands ${workspaceFolder} and ~', () => {
  const vars = { workspaceFolder: '/ws', home: '/home/me' };
  assert.equal(serverSettings(DECLARED, { python: '${workspaceFolder}/.venv/bin/python' }, vars).python, '/ws/.venv/bin/python');
  assert.equal(serverSettings(DECLARED, { python: '~/py/bin/python' }, vars).python, '/home/me/py/bin/python');
  assert.equal(expandVars('  ${userHome}/x ', vars), '/home/me/x');
  assert.equal(expandVars('a~b', vars), 'a~b');
  assert.equal(expandVars('${workspaceFolder}/x', {}), '${workspaceFolder}/x');
});

test("the project's interpreter from the Python extension fills an empty python, never a set one", () => {
  const projectPython = '/ws/.venv39/bin/python';
  assert.equal(serverSettings(DECLARED, DEFAULTS, { projectPython }).python, projectPython);
  assert.equal(serverSettings(DECLARED, { ...DEFAULTS, python: '/usr/bin/python3.12' }, { projectPython }).python, '/usr/bin/python3.12');
  assert.equal(serverSettings(DECLARED, DEFAULTS).python, undefined);
});
