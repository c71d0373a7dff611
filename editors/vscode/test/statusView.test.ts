import { test } from 'node:test';
import assert from 'node:assert/strict';

import { parseStatus, statusView } from '../src/statusView';

test('idle with broken modules: "N broken", error colour', () => {
  const view = statusView('running', parseStatus({ state: 'idle', modules: 5, broken: 2, message: '2 broken modules' }));
  assert.equal(view.text, '$(error) hotmod: 2 broken');
  assert.equal(view.severity, 'error');
  assert.match(view.tooltip, /2 broken modules/);
  assert.match(view.tooltip, /5 modules, 2 broken/);
});

test('idle and healthy, checking, untrusted, error', () => {
  assert.equal(statusView('running', parseStatus({ state: 'idle', modules: 5, broken: 0, message: '' })).text, '$(check) hotmod');
  const checking = statusView('running', parseStatus({ state: 'checking', modules: 5, broken: 2, message: 'checking modules' }));
  assert.equal(checking.text, '$(sync~spin) hotmod: checking');
  assert.equal(checking.severity, undefined);
  assert.equal(statusView('running', parseStatus({ state: 'untrusted', modules: 0, broken: 0, message: '' })).severity, 'warning');
  const error = statusView('running', parseStatus({ state: 'error', modules: 0, broken: 0, message: 'worker died' }));
  assert.equal(error.text, '$(warning) hotmod: error');
  assert.match(error.tooltip, /worker died/);
});

test("the client's own states come before the server's", () => {
  const idle = parseStatus({ state: 'idle', modules: 1, broken: 1, message: '' });
  assert.match(statusView('starting').text, /loading~spin/);
  assert.equal(statusView('stopped', idle).text, '$(circle-slash) hotmod');
  assert.equal(statusView('failed').severity, 'error');
  assert.match(statusView('running').tooltip, /waiting for the first check/);
});

test('running programs taking the changes: "live N"', () => {
  const ok = statusView('running', parseStatus({ state: 'idle', modules: 5, broken: 0, live: 2, message: 'm' }));
  assert.equal(ok.text, '$(check) hotmod: live 2');
  assert.match(ok.tooltip, /5 modules, 0 broken; 2 running programs take its changes/);
  const broken = statusView('running', parseStatus({ state: 'idle', modules: 5, broken: 1, live: 1, message: '' }));
  assert.equal(broken.text, '$(error) hotmod: 1 broken · live 1');
  assert.equal(statusView('running', parseStatus({ state: 'idle', modules: 5, broken: 0, live: 0, message: '' })).text, '$(check) hotmod');
});

test('malformed notifications are ignored or patched', () => {
  assert.equal(parseStatus(null), undefined);
  assert.equal(parseStatus({ modules: 3 }), undefined);
  assert.deepEqual(parseStatus({ state: 'idle', broken: 'x' }), { state: 'idle', modules: 0, broken: 0, live: 0, message: '' });
  assert.equal(statusView('running', parseStatus({ state: 'weird', modules: 0, broken: 0, message: '' })).text, 'hotmod: weird');
});
