// End-to-end test of the hotmod VS Code extension in a real VS Code:
// code-server 4.100.3 (VS Code 1.100.3) headless, driven by Debian's Chromium
// through playwright-core. Installs the packaged .vsix, opens a copy of
// examples/ (shop/cart.py is broken, shop/checkout.py imports it), and checks:
//   1. the import error shows as a squiggle in shop/cart.py (and its hover); the
//      code in the hover opens the reference the .vsix carries at its section;
//   2. the code lens on line 1 and the status bar item ("2 broken");
//   3. the code lens and the palette command "hotmod: Reload Module" answer with
//      a notification, whose "Details" open the server's report (failures);
//   4. "hotmod: Show Status" and "Show Performance Summary" open rendered reports;
//   5. live reload: a running program (with the agent the extension carries) is
//      attached: "live 1" in the status bar, the live lens on shop/orders.py,
//      "Live: Show Attached Processes" lists it, and a dataclass gaining a field
//      is a warning squiggle saying it needs a restart;
//   6. "hotmod: Restart Server" brings up a new server ("Toggle Dev Mode" answers).
// Screenshot of (1): docs/img/vscode-diagnostics.png (--no-screenshot: skip).
//
// The extension runs the server it carries: the only Python it can see is a
// plain `python3 -m venv` with nothing installed (first on PATH, no settings),
// so a squiggle proves that a user needs no `pip install hotmod`.
//
// Run tests/e2e/vscode/run.sh (setup + package + this), or `node e2e.mjs` when
// the setup is done. Environment: HOTMOD_E2E_BASE_PYTHON (a Python 3.11+ to make
// the plain venv with; default python3), HOTMOD_E2E_CACHE (where setup.sh put
// code-server), HOTMOD_VSIX (default editors/vscode/hotmod-<target>-<version>.vsix),
// CHROMIUM.

import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..', '..');
const EXTENSION_DIR = path.join(REPO, 'editors', 'vscode');
const CODE_SERVER_VERSION = '4.100.3';
const CACHE =
  process.env.HOTMOD_E2E_CACHE ??
  path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'hotmod-e2e');
const CODE_SERVER = path.join(CACHE, `code-server-${CODE_SERVER_VERSION}`, 'node_modules', '.bin', 'code-server');
const BASE_PYTHON = process.env.HOTMOD_E2E_BASE_PYTHON ?? 'python3';
const SCREENSHOT = path.join(REPO, 'docs', 'img', 'vscode-diagnostics.png');
const TAKE_SCREENSHOT = !process.argv.includes('--no-screenshot');
const KEEP = process.argv.includes('--keep'); // keep the temporary directory (logs, screenshots)
const TIMEOUT_MS = 90_000;

const started = Date.now();
const results = [];

function say(message) {
  console.log(`== e2e [${((Date.now() - started) / 1000).toFixed(1)} s] ${message}`);
}

async function check(name, body) {
  const t0 = Date.now();
  try {
    await body();
    results.push({ name, ok: true });
    say(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (error) {
    results.push({ name, ok: false });
    say(`FAIL ${name}: ${error instanceof Error ? error.message.split('\n')[0] : error}`);
    throw error;
  }
}

function fail(message) {
  console.error(`== e2e: ${message}`);
  process.exit(1);
}

function which(name) {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir, name);
    if (dir && fs.existsSync(candidate)) {
      return candidate;
    }
  }
  return undefined;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForHealth(url, child, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`code-server exited with ${child.exitCode}`);
    }
    try {
      const response = await fetch(url);
      if (response.ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`code-server not healthy after ${ms} ms`);
}

function copyTree(from, to) {
  fs.cpSync(from, to, {
    recursive: true,
    filter: (source) => !/(^|\/)(__pycache__|\.venv|\.hotmod[^/]*)$/.test(source),
  });
}

/** The hotmod output channel's log file, for failures. */
function findOutputLogs(dir) {
  const found = [];
  const walk = (d) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) {
        walk(p);
      } else if (/hotmod|exthost\.log|remoteagent\.log/i.test(entry.name)) {
        found.push(p);
      }
    }
  };
  if (fs.existsSync(dir)) {
    walk(dir);
  }
  return found;
}

/**
 * The environment for code-server: ours, with the plain venv first on PATH and
 * nothing that would lead to another Python or change what is shown.
 */
function serverEnv(venvBin) {
  const env = {
    ...process.env,
    PATH: `${venvBin}${path.delimiter}${process.env.PATH ?? ''}`,
    // Live reload's private rendezvous folder, shared with the program below.
    HOTMOD_LIVE_DIR: LIVE_DIR,
    // Else VS Code's server takes the extension host's environment from a login
    // shell, whose profile may put another python3 first on PATH.
    VSCODE_CLI: '1',
  };
  for (const name of ['HOTMOD_DEV_MODE', 'VIRTUAL_ENV', 'PYTHONPATH', 'PYTHONHOME', 'CONDA_PREFIX']) {
    delete env[name];
  }
  return env;
}

// -- preconditions -------------------------------------------------------------------

const manifest = JSON.parse(fs.readFileSync(path.join(EXTENSION_DIR, 'package.json'), 'utf8'));
const TARGET_FILE = path.join(EXTENSION_DIR, 'bundled', 'target');
const TARGET = fs.existsSync(TARGET_FILE) ? fs.readFileSync(TARGET_FILE, 'utf8').trim() : 'linux-x64';
const VSIX = process.env.HOTMOD_VSIX ?? path.join(EXTENSION_DIR, `${manifest.name}-${TARGET}-${manifest.version}.vsix`);
const CHROMIUM = process.env.CHROMIUM ?? which('chromium') ?? which('chromium-browser');

if (!fs.existsSync(CODE_SERVER)) {
  fail(`code-server ${CODE_SERVER_VERSION} not found at ${CODE_SERVER}: run tests/e2e/vscode/setup.sh`);
}
if (!CHROMIUM) {
  fail('chromium not found: apt-get install -y chromium (or set CHROMIUM)');
}
if (!fs.existsSync(VSIX)) {
  fail(`${VSIX} not found: run editors/vscode/ci.sh (or npm run package there)`);
}

// -- a Python without hotmod, and a private code-server ---------------------------------

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hotmod-e2e-'));
const LIVE_DIR = path.join(tmp, 'live'); // live reload's; created 0700 by the first to use it
const venv = path.join(tmp, 'plain-venv');
const venvBin = path.join(venv, 'bin');
try {
  execFileSync(BASE_PYTHON, ['-m', 'venv', '--without-pip', venv], { stdio: ['ignore', 'ignore', 'inherit'] });
} catch {
  fail(`${BASE_PYTHON} -m venv failed: set HOTMOD_E2E_BASE_PYTHON to a Python 3.11+`);
}
const PYTHON = path.join(venvBin, 'python3');
try {
  execFileSync(PYTHON, ['-c', 'import sys; sys.exit(sys.version_info < (3, 11))'], { stdio: 'ignore' });
} catch {
  fail(`${BASE_PYTHON} is older than Python 3.11: set HOTMOD_E2E_BASE_PYTHON`);
}
try {
  execFileSync(PYTHON, ['-c', 'import hotmod'], { stdio: 'ignore', env: serverEnv(venvBin) });
  fail(`${PYTHON} can import hotmod: the test needs a Python without it`);
} catch {
  say(`${PYTHON}: a plain venv, no hotmod importable`);
}

const userData = path.join(tmp, 'user-data');
const extensions = path.join(tmp, 'extensions');
const workspace = path.join(tmp, 'examples');
const config = path.join(tmp, 'config.yaml');
const serverLog = path.join(tmp, 'code-server.log');
fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
fs.writeFileSync(config, 'auth: none\ncert: false\n');
copyTree(path.join(REPO, 'examples'), workspace);
// For live reload: a dataclass, and a program that imports it and keeps running
// (excluded from the checks: importing it would never end).
fs.writeFileSync(
  path.join(workspace, 'shop', 'orders.py'),
  'from dataclasses import dataclass\n\n\n@dataclass\nclass Order:\n    total: int\n',
);
fs.writeFileSync(
  path.join(workspace, 'live_app.py'),
  'import time\n\nimport shop.orders\n\nprint("ready", flush=True)\nwhile True:\n    time.sleep(1)\n',
);
fs.appendFileSync(path.join(workspace, 'pyproject.toml'), 'exclude = ["live_app.py"]\n');
fs.writeFileSync(
  path.join(userData, 'User', 'settings.json'),
  JSON.stringify(
    {
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'workbench.enableExperiments': false,
      'security.workspace.trust.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'extensions.ignoreRecommendations': true,
      'chat.commandCenter.enabled': false,
      'files.exclude': { '**/__pycache__': true },
      'editor.hover.delay': 200,
      'window.zoomLevel': 0,
    },
    null,
    2,
  ),
);

const common = [
  '--config', config,
  '--user-data-dir', userData,
  '--extensions-dir', extensions,
  '--disable-telemetry',
  '--disable-update-check',
];

say(`installing ${path.relative(REPO, VSIX)} into a fresh code-server ${CODE_SERVER_VERSION}`);
execFileSync(CODE_SERVER, [...common, '--install-extension', VSIX], { stdio: ['ignore', 'ignore', 'inherit'] });

const port = await freePort();
const log = fs.openSync(serverLog, 'w');
const codeServer = spawn(
  CODE_SERVER,
  [...common, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-workspace-trust', workspace],
  // Its own process group: the extension host and the language server are
  // killed with it at the end.
  { detached: true, stdio: ['ignore', log, log], env: serverEnv(venvBin) },
);

/** hotmod.live's boot folder inside the installed extension: `hotmod run` puts it on PYTHONPATH. */
function bootFolder() {
  const found = [];
  const walk = (d) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) {
        walk(p);
      } else if (p.endsWith(path.join('hotmod', 'live', 'boot', 'sitecustomize.py'))) {
        found.push(path.dirname(p));
      }
    }
  };
  walk(extensions);
  if (found.length !== 1) {
    throw new Error(`expected one hotmod/live/boot in ${extensions}, found ${found.length}`);
  }
  return found[0];
}

let browser;
let page;
let program;
let passed = false;
try {
  // The program runs with the plain venv's Python: the agent needs no hotmod installed.
  program = spawn(PYTHON, ['live_app.py'], {
    cwd: workspace,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...serverEnv(venvBin), PYTHONPATH: bootFolder(), HOTMOD_LIVE_WORKSPACE: workspace },
  });
  await new Promise((resolve, reject) => {
    program.stdout.once('data', resolve);
    program.once('exit', (code) => reject(new Error(`live_app.py exited with ${code}`)));
  });
  say(`live_app.py running with an agent (pid ${program.pid})`);

  await waitForHealth(`http://127.0.0.1:${port}/healthz`, codeServer, 30_000);
  say(`code-server ${CODE_SERVER_VERSION} listening on 127.0.0.1:${port} (pid ${codeServer.pid})`);

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  page.setDefaultTimeout(TIMEOUT_MS);
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
  await page.locator('.monaco-workbench').waitFor();
  await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor();
  say('workbench loaded');

  // Open shop/cart.py through Quick Open.
  const editor = page.locator('.editor-instance .monaco-editor').first();
  await check('open shop/cart.py', async () => {
    await page.locator('.monaco-workbench').click({ position: { x: 640, y: 400 } }).catch(() => {});
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill('cart.py');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'cart.py' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.tab.active', { hasText: 'cart.py' }).waitFor();
    await editor.locator('.view-lines', { hasText: 'from shop.prices import discount' }).waitFor();
  });

  await check('the import error is a squiggle in shop/cart.py', async () => {
    await editor.locator('.squiggly-error').first().waitFor({ state: 'attached' });
  });

  await check('the server is the bundled one, run by the plain venv', async () => {
    const logs = findOutputLogs(path.join(userData, 'logs')).filter((f) => /hotmod\.log$/.test(f));
    const text = logs.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
    const started = `Starting the server: ${PYTHON} ${extensions}/`;
    const line = text.split('\n').find((l) => l.includes(started));
    if (!line || !/\/bundled\/serve\.py \(python3 on PATH, bundled server\)$/.test(line)) {
      throw new Error(`the hotmod log (${logs.join(', ') || 'not found'}) has no "${started}…/bundled/serve.py (python3 on PATH, bundled server)"`);
    }
  });

  await check('a code lens with load time on line 1', async () => {
    await editor.locator('.contentWidgets .codelens-decoration', { hasText: ' ms' }).first().waitFor();
  });

  await check('the status bar says "2 broken"', async () => {
    await page.locator('.statusbar-item', { hasText: 'hotmod: 2 broken' }).first().waitFor();
  });

  await check('hovering the squiggle names the ImportError', async () => {
    const box = await editor.locator('.squiggly-error').first().boundingBox();
    if (!box) {
      throw new Error('squiggle has no box');
    }
    await page.mouse.move(box.x + Math.min(box.width / 2, 150), box.y + box.height / 2 - 4);
    await page.locator('.monaco-hover', { hasText: "cannot import name 'discount'" }).first().waitFor();
  });

  if (TAKE_SCREENSHOT) {
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    say(`screenshot: ${path.relative(REPO, SCREENSHOT)}`);
  }

  await page.mouse.move(5, 5);
  await page.keyboard.press('Escape');

  await check("the diagnostic's code links to its section of the reference the extension carries", async () => {
    const box = await editor.locator('.squiggly-error').first().boundingBox();
    if (!box) {
      throw new Error('squiggle has no box');
    }
    await page.mouse.move(box.x + Math.min(box.width / 2, 150), box.y + box.height / 2 - 4);
    const hover = page.locator('.monaco-hover', { hasText: "cannot import name 'discount'" }).first();
    await hover.locator('a', { hasText: 'import-error' }).first().click();
    await page.locator('.tab.active', { hasText: 'diagnostics.md' }).waitFor();
    // at the section's heading
    await page.locator('.monaco-editor .view-line', { hasText: '## import-error' }).first().waitFor();
    await page.screenshot({ path: path.join(tmp, 'diagnostic-reference.png') });
    await page.locator('.tab', { hasText: 'cart.py' }).first().click();
    await page.locator('.tab.active', { hasText: 'cart.py' }).waitFor();
    await page.mouse.move(5, 5);
  });

  /** Runs a command from the F1 palette by its full label ("hotmod: Reload Module"). */
  async function palette(label) {
    await editor.click({ position: { x: 300, y: 200 } });
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(`>${label}`);
    // Fuzzy matching lists "Reload All Modules" for "Reload Module" too: click the exact one.
    const exact = new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    await page
      .locator('.quick-input-list .monaco-list-row')
      .filter({ has: page.locator('.label-name', { hasText: exact }) })
      .first()
      .click();
  }

  const runCommand = (title) => palette(`hotmod: ${title}`);

  await check('clicking the code lens reloads the module and shows the result', async () => {
    await editor.locator('.contentWidgets .codelens-decoration a', { hasText: ' ms' }).first().click();
    await page
      .locator('.notification-toast', { hasText: 'Reloaded shop.cart and 1 dependent: 2 failed' })
      .first()
      .waitFor();
    await palette('Notifications: Clear All Notifications');
    await page.locator('.notification-toast').first().waitFor({ state: 'detached' });
  });

  await check('palette "hotmod: Reload Module" shows the reload result', async () => {
    await runCommand('Reload Module');
    await page
      .locator('.notification-toast', { hasText: 'Reloaded shop.cart and 1 dependent: 2 failed' })
      .first()
      .waitFor();
    await page.screenshot({ path: path.join(tmp, 'reload-module.png') });
  });

  /** Waits until some frame (the markdown preview is a webview: nested iframes) shows all `texts`. */
  async function waitForRendered(texts) {
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      for (const frame of page.frames()) {
        const text = await frame
          .locator('body')
          .innerText({ timeout: 500 })
          .catch(() => '');
        if (texts.every((t) => text.includes(t))) {
          return;
        }
      }
      if (Date.now() > deadline) {
        throw new Error(`no frame shows ${JSON.stringify(texts)}`);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  await check('"Details" of the reload shows the server\'s report with the failures', async () => {
    await page
      .locator('.notification-toast', { hasText: 'Reloaded shop.cart' })
      .first()
      .locator('a.monaco-button, .monaco-button', { hasText: 'Details' })
      .first()
      .click();
    await page.locator('.tab', { hasText: 'hotmod reload' }).first().waitFor();
    await waitForRendered(['hotmod: reloaded', 'Failures', 'shop/cart.py:7:1', 'import-error']);
    await page.screenshot({ path: path.join(tmp, 'reload-report.png') });
  });

  await check('palette "hotmod: Show Status" opens the status report', async () => {
    await runCommand('Show Status');
    await page.locator('.tab', { hasText: 'hotmod status' }).first().waitFor();
    await waitForRendered(['hotmod: status', 'hotmod version', 'Broken modules']);
    await page.screenshot({ path: path.join(tmp, 'status-report.png') });
  });

  await check('palette "hotmod: Show Performance Summary" renders tables, not JSON', async () => {
    await runCommand('Show Performance Summary');
    await page.locator('.tab', { hasText: 'hotmod performance summary' }).first().waitFor();
    await waitForRendered(['Slowest imports', 'Average import', 'shop.cart']);
    await page.screenshot({ path: path.join(tmp, 'performance-summary.png') });
  });
  await check('live reload: "live 1" in the status bar', async () => {
    await page.locator('.statusbar-item', { hasText: 'live 1' }).first().waitFor();
  });

  // The markdown previews opened to the side: orders.py opens in that group.
  const orders = page.locator('.editor-instance .monaco-editor').filter({ hasText: 'class Order' });

  await check('live reload: the live lens on shop/orders.py', async () => {
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill('orders.py');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'orders.py' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.tab.active', { hasText: 'orders.py' }).waitFor();
    await orders.locator('.contentWidgets .codelens-decoration', { hasText: 'live in 1 process' }).first().waitFor();
  });

  await check('live reload: a dataclass gaining a field is a warning that it needs a restart', async () => {
    await orders.locator('.view-lines', { hasText: 'class Order' }).click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('    note: int = 0');
    await page.keyboard.press('Control+S');
    const warning = orders.locator('.squiggly-warning').first();
    await warning.waitFor({ state: 'attached' });
    const box = await warning.boundingBox();
    if (!box) {
      throw new Error('the warning squiggle has no box');
    }
    await page.mouse.move(box.x + Math.min(box.width / 2, 60), box.y + box.height / 2 - 4);
    await page.locator('.monaco-hover', { hasText: 'needs restart: dataclass Order gained a field' }).first().waitFor();
    await page.screenshot({ path: path.join(tmp, 'live-refused.png') });
    await page.mouse.move(5, 5);
    await page.keyboard.press('Escape');
  });

  await check('palette "hotmod: Live: Show Attached Processes" lists the program', async () => {
    await runCommand('Live: Show Attached Processes');
    await page.locator('.tab', { hasText: 'hotmod live processes' }).first().waitFor();
    await waitForRendered(['hotmod: live processes', '1 process takes changes', String(program.pid)]);
  });

  await check('palette "hotmod: Restart Server", then "Toggle Dev Mode" on the new server', async () => {
    await runCommand('Restart Server');
    await runCommand('Toggle Dev Mode'); // waits for the restart to finish
    await page.locator('.notification-toast', { hasText: 'Dev mode is now on' }).first().waitFor();
    await page.locator('.statusbar-item', { hasText: 'hotmod: 2 broken' }).first().waitFor();
  });
  passed = true;
} catch (error) {
  console.error(error instanceof Error ? error.stack : error);
  if (page) {
    const shot = path.join(tmp, 'failure.png');
    await page.screenshot({ path: shot }).catch(() => {});
    console.error(`== e2e: screenshot of the failure: ${shot}`);
  }
  console.error(`== e2e: code-server log: ${serverLog}`);
  for (const file of findOutputLogs(path.join(userData, 'logs'))) {
    console.error(`== e2e: log ${file}:\n${fs.readFileSync(file, 'utf8').split('\n').slice(-40).join('\n')}`);
  }
} finally {
  program?.kill('SIGKILL');
  await browser?.close().catch(() => {});
  // The whole group: code-server, its extension host and `hotmod serve`.
  try {
    process.kill(-codeServer.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  await new Promise((r) => setTimeout(r, 1000));
  try {
    process.kill(-codeServer.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  fs.closeSync(log);
}

const failed = results.filter((r) => !r.ok).length + (passed ? 0 : results.every((r) => r.ok) ? 1 : 0);
if (passed && !KEEP) {
  fs.rmSync(tmp, { recursive: true, force: true });
} else {
  console.log(`== e2e: kept ${tmp} for inspection`);
}
say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`e2e: ${results.filter((r) => r.ok).length} passed, ${failed} failed`);
process.exit(passed ? 0 : 1);
