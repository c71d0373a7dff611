import { test } from 'node:test';
import assert from 'node:assert/strict';

import { LaunchInputs, PROBE_SCRIPT, Probe, chooseLaunch, findOnPath, parseProbe, projectPython } from '../src/launch';

const SCRIPT = '/ext/bundled/serve.py';

/** A machine: which interpreters exist (path -> version, whether hotmod is installed) and what PATH has. */
function machine(
  pythons: Record<string, [string, boolean?]>,
  path: Record<string, string>,
  overrides: Partial<LaunchInputs> = {},
): LaunchInputs & { probed: string[] } {
  const probed: string[] = [];
  return {
    strategy: 'useBundled',
    bundledServer: SCRIPT,
    interpreter: '',
    probed,
    async probe(python: string): Promise<Probe | undefined> {
      probed.push(python);
      const known = pythons[python];
      if (!known) {
        return undefined;
      }
      const [major, minor] = known[0].split('.').map(Number);
      return { version: [major, minor], hasHotmod: known[1] === true };
    },
    which: (name: string) => path[name],
    ...overrides,
  };
}

test("bundled: the Python extension's interpreter runs the bundled server when it is 3.11+", async () => {
  const inputs = machine({ '/p/.venv/bin/python': ['3.12'] }, { python3: '/usr/bin/python3' }, { selected: '/p/.venv/bin/python' });
  const choice = await chooseLaunch(inputs);
  assert.deepEqual(choice.launch, {
    command: '/p/.venv/bin/python',
    args: [SCRIPT],
    source: "the Python extension's selected interpreter, bundled server",
    python: '/p/.venv/bin/python',
  });
  assert.deepEqual(inputs.probed, ['/p/.venv/bin/python'], 'nothing else is probed');
  assert.equal(projectPython(choice.launch!, '/p/.venv/bin/python'), undefined, 'the server defaults to it anyway');
});

test('bundled: an older selected interpreter checks the project; a 3.11+ from PATH runs the server', async () => {
  const inputs = machine(
    { '/p/.venv/bin/python': ['3.9'], '/usr/bin/python3': ['3.10'], '/usr/bin/python3.12': ['3.12'] },
    { python3: '/usr/bin/python3', python: '/usr/bin/python3', 'python3.12': '/usr/bin/python3.12' },
    { selected: '/p/.venv/bin/python' },
  );
  const choice = await chooseLaunch(inputs);
  assert.equal(choice.launch?.command, '/usr/bin/python3.12');
  assert.deepEqual(choice.launch?.args, [SCRIPT]);
  assert.deepEqual(inputs.probed, ['/p/.venv/bin/python', '/usr/bin/python3', '/usr/bin/python3.12'], 'each path once');
  assert.match(choice.notes.join('\n'), /\/p\/\.venv\/bin\/python is Python 3\.9.*still checked with \/p\/\.venv\/bin\/python/);
  assert.equal(projectPython(choice.launch!, '/p/.venv/bin/python'), '/p/.venv/bin/python');
});

test('bundled: without the Python extension, python3 on PATH; the project interpreter is left to the server', async () => {
  const choice = await chooseLaunch(machine({ '/usr/bin/python3': ['3.11'] }, { python3: '/usr/bin/python3' }));
  assert.equal(choice.launch?.command, '/usr/bin/python3');
  assert.equal(choice.launch?.source, 'python3 on PATH, bundled server');
  assert.equal(projectPython(choice.launch!, undefined), undefined);
});

test('bundled: hotmod.interpreter wins, and must be 3.11+', async () => {
  const pythons: Record<string, [string]> = { '/opt/py312/bin/python': ['3.12'], '/opt/py38/bin/python': ['3.8'] };
  const path = { python3: '/opt/py312/bin/python' };
  const set = await chooseLaunch(machine(pythons, path, { interpreter: '/opt/py312/bin/python', selected: '/p/python' }));
  assert.equal(set.launch?.command, '/opt/py312/bin/python');
  assert.equal(projectPython(set.launch!, '/p/python'), '/p/python');
  const old = await chooseLaunch(machine(pythons, path, { interpreter: '/opt/py38/bin/python' }));
  assert.equal(old.launch, undefined);
  assert.match(old.error!, /"hotmod\.interpreter" is \/opt\/py38\/bin\/python, which is Python 3\.8: the hotmod server needs Python 3\.11\+/);
  const missing = await chooseLaunch(machine(pythons, path, { interpreter: '/nope/python' }));
  assert.match(missing.error!, /which does not run/);
});

test('bundled: a readable error when no Python 3.11+ is anywhere', async () => {
  const choice = await chooseLaunch(
    machine({ '/p/python': ['3.9'], '/usr/bin/python3': ['3.9'] }, { python3: '/usr/bin/python3' }, { selected: '/p/python' }),
  );
  assert.equal(choice.launch, undefined);
  assert.match(choice.error!, /no Python 3\.11\+ to run the hotmod server/);
  assert.match(choice.error!, /\/p\/python/);
  assert.match(choice.error!, /hotmod\.interpreter/);
  assert.match(choice.notes.join('\n'), /\/usr\/bin\/python3 is Python 3\.9/);
});

test('bundled: a build without the bundled server says how to use an installed one', async () => {
  const choice = await chooseLaunch(machine({ '/usr/bin/python3': ['3.12'] }, { python3: '/usr/bin/python3' }, { bundledServer: undefined }));
  assert.match(choice.error!, /no bundled server.*"hotmod\.importStrategy" to "fromEnvironment"/);
});

test('fromEnvironment: hotmod.interpreter wins, and must have hotmod', async () => {
  const pythons: Record<string, [string, boolean]> = { '/venv/bin/python': ['3.12', true], '/bare/python': ['3.12', false] };
  const env = { strategy: 'fromEnvironment' as const };
  const choice = await chooseLaunch(machine(pythons, { hotmod: '/usr/bin/hotmod' }, { ...env, interpreter: '/venv/bin/python' }));
  assert.deepEqual(choice.launch, {
    command: '/venv/bin/python',
    args: ['-m', 'hotmod.server.cli', 'serve'],
    source: 'setting hotmod.interpreter, hotmod from its environment',
    python: '/venv/bin/python',
  });
  const bare = await chooseLaunch(machine(pythons, { hotmod: '/usr/bin/hotmod' }, { ...env, interpreter: '/bare/python' }));
  assert.match(bare.error!, /\/bare\/python -m pip install hotmod/);
});

test("fromEnvironment: the Python extension's interpreter with hotmod, else hotmod on PATH", async () => {
  const env = { strategy: 'fromEnvironment' as const, selected: '/p/python' };
  const withHotmod = await chooseLaunch(machine({ '/p/python': ['3.11', true] }, {}, env));
  assert.equal(withHotmod.launch?.command, '/p/python');
  const onPath = await chooseLaunch(machine({ '/p/python': ['3.11', false] }, { hotmod: '/usr/local/bin/hotmod' }, env));
  assert.deepEqual(onPath.launch, { command: '/usr/local/bin/hotmod', args: ['serve'], source: 'hotmod on PATH' });
  assert.equal(projectPython(onPath.launch!, '/p/python'), '/p/python', "hotmod's own interpreter is not the project's");
  const none = await chooseLaunch(machine({ '/p/python': ['3.11', false] }, {}, env));
  assert.match(none.error!, /no `hotmod` on PATH/);
  assert.match(none.error!, /"hotmod\.importStrategy" to "useBundled"/);
});

test('the probe script is read defensively', () => {
  assert.deepEqual(parseProbe('{"version": [3, 12], "hotmod": true}\n'), { version: [3, 12], hasHotmod: true });
  assert.deepEqual(parseProbe('{"version": [2, 7], "hotmod": false}'), { version: [2, 7], hasHotmod: false });
  assert.equal(parseProbe('Python 3.12.1'), undefined);
  assert.equal(parseProbe('{"version": "3.12"}'), undefined);
  assert.match(PROBE_SCRIPT, /find_spec\('hotmod\.server\.cli'\)/);
});

test('findOnPath: first match on PATH, PATHEXT on Windows', () => {
  const files = new Set(['/b/hotmod', '/c/hotmod', 'C:\\py\\Scripts\\hotmod.EXE']);
  const has = (p: string): boolean => files.has(p);
  assert.equal(findOnPath('hotmod', '/a::/b/:/c', has, 'linux'), '/b/hotmod');
  assert.equal(findOnPath('hotmod', '/a', has, 'linux'), undefined);
  assert.equal(findOnPath('hotmod', undefined, has, 'linux'), undefined);
  assert.equal(findOnPath('hotmod', 'C:\\x;C:\\py\\Scripts', has, 'win32', '.COM;.EXE'), 'C:\\py\\Scripts\\hotmod.EXE');
});
