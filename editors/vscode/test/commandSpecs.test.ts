import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  SERVER_COMMANDS,
  UsageError,
  restartable,
  executeParams,
  lensCommandId,
  needsFolderPick,
  presentation,
  specFor,
  targetFromArgument,
} from '../src/commandSpecs';

const FILE = 'file:///ws/shop/cart.py';
const FOLDER = 'file:///ws';

function spec(server: string) {
  const found = specFor(server);
  assert.ok(found, `no palette command for ${server}`);
  return found;
}

test('each palette command calls its server command; ids differ from the server ids', () => {
  const wiring = Object.fromEntries(SERVER_COMMANDS.map((s) => [s.id, s.server]));
  assert.deepEqual(wiring, {
    'hotmod.client.reloadModule': 'hotmod.reloadModule',
    'hotmod.client.reloadAll': 'hotmod.reloadAll',
    'hotmod.client.refresh': 'hotmod.refresh',
    'hotmod.client.toggleDevMode': 'hotmod.toggleDevMode',
    'hotmod.client.performanceSummary': 'hotmod.performanceSummary',
    'hotmod.client.memoryReport': 'hotmod.memoryReport',
    'hotmod.client.profileModule': 'hotmod.profileModule',
    'hotmod.client.status': 'hotmod.status',
    'hotmod.client.liveProcesses': 'hotmod.liveProcesses',
    'hotmod.client.liveApply': 'hotmod.liveApply',
    'hotmod.client.liveApplyRerun': 'hotmod.liveApply',
    'hotmod.client.liveRestart': 'hotmod.liveRestart',
  });
  for (const s of SERVER_COMMANDS) {
    assert.notEqual(s.id, s.server);
  }
});

test('Reload Module sends the current file', () => {
  const params = executeParams(spec('hotmod.reloadModule'), {
    activeFileUri: FILE,
    activeLanguageId: 'python',
    activeFolderUri: FOLDER,
  });
  assert.deepEqual(params, { command: 'hotmod.reloadModule', arguments: [{ uri: FILE }] });
});

test('Reload Module: a module or URI given by the caller wins over the active file', () => {
  const s = spec('hotmod.reloadModule');
  const ctx = { activeFileUri: FILE, activeLanguageId: 'python' };
  assert.deepEqual(executeParams(s, { ...ctx, explicit: { module: 'shop.checkout' } }).arguments, [
    { module: 'shop.checkout' },
  ]);
  assert.deepEqual(executeParams(s, { ...ctx, explicit: { uri: 'file:///ws/shop/prices.py' } }).arguments, [
    { uri: 'file:///ws/shop/prices.py' },
  ]);
});

test('Reload Module without a Python file is a usage error, not a request', () => {
  const s = spec('hotmod.reloadModule');
  assert.throws(() => executeParams(s, {}), UsageError);
  assert.throws(
    () => executeParams(s, { activeFileUri: 'file:///ws/README.md', activeLanguageId: 'markdown' }),
    /open a Python file/,
  );
});

test('Profile Module sends the current file, or the module a hot-line lens names', () => {
  const s = spec('hotmod.profileModule');
  assert.equal(s.id, 'hotmod.client.profileModule');
  assert.equal(s.title, 'Profile Module');
  const ctx = { activeFileUri: FILE, activeLanguageId: 'python', activeFolderUri: FOLDER };
  assert.deepEqual(executeParams(s, ctx), { command: 'hotmod.profileModule', arguments: [{ uri: FILE }] });
  assert.deepEqual(executeParams(s, { ...ctx, explicit: { module: 'shop.report' } }).arguments, [{ module: 'shop.report' }]);
  assert.throws(() => executeParams(s, {}), /open a Python file of the workspace to profile/);
  assert.equal(lensCommandId('hotmod.profileModule'), 'hotmod.client.profileModule');
});

test('folder commands send the active folder, or nothing (one folder: the server knows it)', () => {
  for (const server of [
    'hotmod.reloadAll',
    'hotmod.refresh',
    'hotmod.toggleDevMode',
    'hotmod.performanceSummary',
    'hotmod.memoryReport',
    'hotmod.status',
    'hotmod.liveProcesses',
    'hotmod.liveApply',
    'hotmod.liveRestart',
  ]) {
    const s = spec(server);
    assert.deepEqual(executeParams(s, { activeFileUri: FILE, activeFolderUri: FOLDER }), {
      command: server,
      arguments: [{ uri: FOLDER }],
    });
    assert.deepEqual(executeParams(s, {}), { command: server, arguments: [{}] });
  }
});

test('with several folders and none active or named, a folder command asks which', () => {
  const folderCommand = spec('hotmod.reloadAll');
  assert.equal(needsFolderPick(folderCommand, {}, 2), true);
  assert.equal(needsFolderPick(folderCommand, {}, 1), false);
  assert.equal(needsFolderPick(folderCommand, { activeFolderUri: FOLDER }, 2), false);
  assert.equal(needsFolderPick(folderCommand, { explicit: { uri: FOLDER } }, 2), false);
  assert.equal(needsFolderPick(spec('hotmod.reloadModule'), {}, 2), false); // a file command
});

test('Apply Now with re-run is the same server command, asking for re-run', () => {
  const rerun = SERVER_COMMANDS.find((s) => s.id === 'hotmod.client.liveApplyRerun');
  assert.ok(rerun);
  assert.deepEqual(executeParams(rerun, { activeFolderUri: FOLDER }), {
    command: 'hotmod.liveApply',
    arguments: [{ uri: FOLDER, rerun: true }],
  });
  assert.deepEqual(executeParams(spec('hotmod.liveApply'), {}).arguments, [{}]);
  // the process that Restart Process picked
  assert.deepEqual(executeParams(spec('hotmod.liveRestart'), { activeFolderUri: FOLDER }, { pid: 7 }).arguments, [
    { uri: FOLDER, pid: 7 },
  ]);
});

test('Restart Process offers the processes that hotmod run started', () => {
  const listed = {
    processes: [
      { pid: 1, command: 'python app.py', restartable: true },
      { pid: 2, command: 'ipykernel', restartable: false },
      { pid: 'x', command: 'bad', restartable: true },
    ],
  };
  assert.deepEqual(restartable(listed), [{ pid: 1, command: 'python app.py', restartable: true }]);
  assert.deepEqual(restartable({ message: 'off' }), []);
  assert.deepEqual(restartable(null), []);
});

test('every command sends exactly one object argument (docs/commands.md)', () => {
  for (const s of SERVER_COMMANDS) {
    const params = executeParams(s, { activeFileUri: FILE, activeFolderUri: FOLDER });
    assert.equal(params.arguments.length, 1);
    assert.equal(typeof params.arguments[0], 'object');
  }
});

test('targets from code lens arguments and other callers', () => {
  assert.deepEqual(targetFromArgument({ module: 'shop.cart' }), { module: 'shop.cart' });
  assert.deepEqual(targetFromArgument({ uri: FILE }), { uri: FILE });
  assert.deepEqual(targetFromArgument('shop.cart'), { module: 'shop.cart' });
  assert.deepEqual(targetFromArgument(FILE), { uri: FILE });
  assert.equal(targetFromArgument(undefined), undefined);
  assert.equal(targetFromArgument({ module: 3 }), undefined);
  assert.equal(targetFromArgument([FILE]), undefined);
});

test("code lenses run the client's command so that the result is shown", () => {
  assert.equal(lensCommandId('hotmod.reloadModule'), 'hotmod.client.reloadModule');
  assert.equal(lensCommandId('editor.action.showReferences'), 'editor.action.showReferences');
});

test('results are shown as the server rendered them', () => {
  const reload = {
    module: 'shop.cart',
    found: true,
    result: { name: 'shop.cart', status: 'error' },
    dependents: [{ name: 'shop.checkout', status: 'error' }, { name: 'shop.catalog', status: 'ok' }],
    message: 'Reloaded shop.cart and 2 dependents: 2 failed (shop.cart, shop.checkout)',
    markdown: '# hotmod: reloaded `shop.cart`\n',
  };
  assert.deepEqual(presentation(spec('hotmod.reloadModule'), reload), {
    message: reload.message,
    markdown: reload.markdown,
    failed: 2,
    title: 'hotmod reload',
  });
  const all = presentation(spec('hotmod.reloadAll'), { failed: 3, message: 'm', markdown: '# r\n' });
  assert.equal(all.failed, 3);
  const profile = presentation(spec('hotmod.profileModule'), { module: 'shop.report', message: 'p', markdown: 'x' });
  assert.equal(profile.title, 'hotmod profile shop.report');
  assert.equal(presentation(spec('hotmod.status'), { message: 's', markdown: 'x' }).title, 'hotmod status');
  const apply = presentation(spec('hotmod.liveApply'), {
    outcomes: [{ ok: true }, { ok: false }, { ok: false }],
    message: 'Not applied in 2 of 3 processes: …',
    markdown: '# hotmod: live apply now\n',
  });
  assert.equal(apply.failed, 2);
  assert.equal(apply.title, 'hotmod live apply');
  assert.equal(lensCommandId('hotmod.liveProcesses'), 'hotmod.client.liveProcesses');
});

test('a result without its rendering still shows something readable', () => {
  for (const result of [null, 'text', [1], { dev_mode: true }]) {
    const view = presentation(spec('hotmod.toggleDevMode'), result);
    assert.equal(view.message, 'Toggle Dev Mode: the server sent no message');
    assert.match(view.markdown, /^# hotmod dev mode\n/);
    assert.equal(view.failed, 0);
  }
});
