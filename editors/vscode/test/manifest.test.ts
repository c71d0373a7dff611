// package.json against the code and against the protocol contract (docs/commands.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { CLIENT_COMMANDS, SERVER_COMMANDS } from '../src/commandSpecs';
import { CLIENT_CATEGORY, PYTHON_SETTING, declaredSettings, serverSettings } from '../src/settings';

const ROOT = path.join(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const CONTRACT = path.join(ROOT, '..', '..', 'docs', 'commands.md');
const DECLARED = declaredSettings(manifest);
type Schema = { type: string | string[]; default?: unknown; markdownDescription?: string; enum?: unknown[] };
const categories = manifest.contributes.configuration as { title: string; properties: Record<string, Schema> }[];
const properties: Record<string, Schema> = Object.assign({}, ...categories.map((c) => c.properties));

/** The JSON schema type name of a value. */
function jsonType(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  return Array.isArray(value) ? 'array' : typeof value;
}

interface ContributedCommand {
  command: string;
  title: string;
  category?: string;
}

test('every command is contributed under category "hotmod" with the title the code uses', () => {
  const contributed = manifest.contributes.commands as ContributedCommand[];
  const expected = [...SERVER_COMMANDS, ...CLIENT_COMMANDS].map((c) => ({ command: c.id, title: c.title }));
  assert.deepEqual(
    contributed.map((c) => ({ command: c.command, title: c.title })),
    expected,
  );
  for (const c of contributed) {
    assert.equal(c.category, 'hotmod', c.command);
    assert.ok(!/^hotmod\.(?!client\.)/.test(c.command), `${c.command} would clash with the server's own id`);
  }
});

test("settings come in two categories: the server's, titled like the extension, and the client's", () => {
  assert.deepEqual(
    categories.map((c) => c.title),
    [manifest.displayName, CLIENT_CATEGORY],
  );
  for (const [key, schema] of Object.entries(properties)) {
    assert.match(key, /^hotmod\./);
    assert.ok(schema.markdownDescription && schema.markdownDescription.length > 20, `${key} needs a description`);
    assert.ok('default' in schema, `${key} needs a default`);
  }
  assert.ok(DECLARED.server.includes(PYTHON_SETTING), 'the path setting that is expanded');
});

test('engine settings default to null/empty so that [tool.hotmod] is not overridden', () => {
  const defaults = Object.fromEntries(DECLARED.server.map((key) => [key, properties[`hotmod.${key}`].default]));
  // What VS Code reports when nothing is set must send the server nothing but reloadOnSave.
  assert.deepEqual(serverSettings(DECLARED, defaults), { reloadOnSave: true });
  // Each default is of its setting's type: null where the schema allows it, else [], {}, '' or a switch's value.
  for (const key of DECLARED.server) {
    const types = [properties[`hotmod.${key}`].type].flat();
    assert.equal(jsonType(defaults[key]), types.includes('null') ? 'null' : types[0], key);
  }
});

test('importStrategy offers the bundled server first, an installed one on request', () => {
  const schema = properties['hotmod.importStrategy'];
  assert.deepEqual(schema.enum, ['useBundled', 'fromEnvironment']);
  assert.equal(schema.default, 'useBundled');
});

test('no link that goes nowhere: no repository placeholder', () => {
  assert.equal(manifest.repository, undefined);
  assert.match(manifest.scripts.vsix, /--allow-missing-repository/, 'vsce would ask for one');
});

test('Profile Module is in the palette and the context menus of Python files, like Reload Module', () => {
  const menus = manifest.contributes.menus as Record<string, { command: string; when?: string }[]>;
  for (const menu of ['commandPalette', 'editor/context', 'explorer/context']) {
    const reload = menus[menu].find((m) => m.command === 'hotmod.client.reloadModule');
    const profile = menus[menu].find((m) => m.command === 'hotmod.client.profileModule');
    assert.ok(profile, `hotmod.client.profileModule missing from ${menu}`);
    assert.equal(profile.when, reload?.when, menu);
  }
});

test('sideEffects offers the values of docs/commands.md (and null)', () => {
  const schema = properties['hotmod.sideEffects'];
  assert.deepEqual(schema.enum, ['warn', 'block', 'off', null]);
});

test('the extension refuses untrusted workspaces and targets VS Code 1.100', () => {
  assert.equal(manifest.capabilities.untrustedWorkspaces.supported, false);
  assert.match(manifest.engines.vscode, /^\^1\.(\d+)\./);
  const minor = Number(/^\^1\.(\d+)\./.exec(manifest.engines.vscode)?.[1]);
  assert.ok(minor <= 100, 'engines.vscode must accept VS Code 1.100 (code-server 4.100.3)');
  assert.match(manifest.dependencies['vscode-languageclient'], /^\^9\./);
});

test('docs/commands.md lists exactly the commands and settings this extension knows', { skip: !fs.existsSync(CONTRACT) }, () => {
  const text = fs.readFileSync(CONTRACT, 'utf8');
  const commands = [...text.matchAll(/^\| `(hotmod\.\w+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(commands.sort(), [...new Set(SERVER_COMMANDS.map((c) => c.server))].sort());
  const settingsSection = text.slice(text.indexOf('## Settings'), text.indexOf('## Commands'));
  const settings = [...settingsSection.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(settings.sort(), [...DECLARED.server, 'trusted'].sort());
});
