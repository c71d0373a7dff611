import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import {
  cell,
  code,
  devModeSummary,
  formatBytes,
  fileUri,
  formatMs,
  profileSummary,
  reloadSummary,
  renderMemory,
  renderPerformance,
  renderProfile,
  renderReload,
  renderReport,
  renderStatus,
  reportSummary,
} from '../src/render';

// Real answers of `hotmod serve` on examples/ (captured from the server).
const FIXTURES = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', 'test', 'fixtures', 'server-results.json'), 'utf8'),
) as Record<string, unknown>;

/** The rows of the first markdown table after `heading` (or of the first table). */
function tableRows(markdown: string, heading?: string): string[][] {
  let lines = markdown.split('\n');
  if (heading) {
    lines = lines.slice(lines.findIndex((l) => l === heading) + 1);
  }
  const start = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) {
      break;
    }
    rows.push(
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim()),
    );
  }
  return rows;
}

function assertNoJson(markdown: string): void {
  assert.ok(!/[{[]\s*"/.test(markdown), `looks like raw JSON:\n${markdown}`);
}

test('reload message: "Reloaded shop.cart and 1 dependent: 2 failed"', () => {
  const summary = reloadSummary(FIXTURES.reloadModule);
  assert.equal(summary.text, 'Reloaded shop.cart and 1 dependent: 2 failed (shop.cart, shop.checkout)');
  assert.equal(summary.failed, 2);
  assert.equal(
    reloadSummary(FIXTURES.reloadModuleHealthy).text,
    'Reloaded shop.prices and 3 dependents: 2 failed (shop.cart, shop.checkout)',
  );
});

test('reload message without dependents or failures', () => {
  const result = { module: 'shop.prices', found: true, result: { name: 'shop.prices', status: 'ok' }, dependents: [] };
  assert.deepEqual(reloadSummary(result), { text: 'Reloaded shop.prices: all ok', failed: 0 });
  assert.equal(reloadSummary({ module: 'x', found: false, message: 'unknown module x' }).text, 'unknown module x');
  assert.equal(reloadSummary(null).text, 'Reloaded ?: all ok');
});

test('reload details: one row per module with its first problem', () => {
  const markdown = renderReload(FIXTURES.reloadModule);
  assertNoJson(markdown);
  assert.match(markdown, /^# hotmod: reloaded `shop.cart`/);
  const rows = tableRows(markdown);
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[0].slice(0, 2), ['`shop.cart`', '**error**']);
  assert.equal(rows[0][2], '1.9 ms');
  assert.equal(rows[0][4], '173 B');
  assert.equal(rows[0][5], "line 7: ImportError: cannot import name 'discount' from 'shop.prices'");
  assert.equal(rows[1][0], '`shop.checkout`');
});

test('reload all / refresh: summary and a table, broken modules first', () => {
  assert.equal(
    reportSummary(FIXTURES.reloadAll).text,
    'Reloaded 5 modules in 122 ms: 2 failed (shop.cart, shop.checkout)',
  );
  const markdown = renderReport(FIXTURES.reloadAll, 'reload all modules');
  assertNoJson(markdown);
  const rows = tableRows(markdown);
  assert.deepEqual(
    rows.map((r) => r[0]),
    ['`shop.cart`', '`shop.checkout`', '`shop`', '`shop.catalog`', '`shop.prices`'],
  );
  const refreshed = { modules: 3, failed: 0, duration_ms: 12.34, results: [], added: ['shop.new'], removed: ['shop.old'] };
  assert.equal(reportSummary(refreshed, 'Refreshed').text, 'Refreshed 3 modules in 12.3 ms: all import; added shop.new; removed shop.old');
  const refreshMarkdown = renderReport(refreshed, 'refresh modules', 'Refreshed');
  assert.match(refreshMarkdown, /\*\*Added:\*\* `shop.new`/);
  assert.match(refreshMarkdown, /\*\*Removed:\*\* `shop.old`/);
});

test('performance summary: headline table, slowest imports, reload counts', () => {
  const markdown = renderPerformance(FIXTURES.performanceSummary);
  assertNoJson(markdown);
  assert.match(markdown, /^# hotmod: performance summary/);
  assert.match(markdown, /> 21 loads, average 6.8 ms; 0 over 50 ms/);
  assert.deepEqual(tableRows(markdown), [
    ['Scans of the workspace', '2'],
    ['Average scan', '3.9 ms'],
    ['Module imports (loads)', '21'],
    ['Average import', '6.8 ms'],
    ['Slow threshold', '50.0 ms'],
  ]);
  const slowest = tableRows(markdown, '## Slowest imports');
  assert.equal(slowest.length, 5);
  assert.deepEqual(slowest[0], ['`shop`', '13.4 ms', '13.4 ms']);
  // The server's order is not by load time: the table is.
  assert.deepEqual(
    slowest.map((r) => r[0]),
    ['`shop`', '`shop.cart`', '`shop.checkout`', '`shop.catalog`', '`shop.prices`'],
  );
  assert.match(markdown, /## Slow imports \(over 50.0 ms\)\n\n_None._/);
  const counts = tableRows(markdown, '## Reloads per module');
  assert.deepEqual(counts[0], ['`shop.cart`', '4']);
  assert.deepEqual(counts[1], ['`shop.checkout`', '4']);
  assert.equal(counts.length, 5);
});

test('performance summary before any check', () => {
  const markdown = renderPerformance({
    total_scans: 0,
    average_scan_ms: 0,
    total_loads: 0,
    average_load_ms: 0,
    slowest: [],
    reload_counts: {},
    slow_loads: [],
    slow_threshold_ms: 100,
    message: 'no loads yet',
  });
  assert.match(markdown, /_No imports yet._/);
  assert.match(markdown, /## Reloads per module\n\n_None._/);
});

test('memory report: total and the largest modules with their share', () => {
  const markdown = renderMemory(FIXTURES.memoryReport);
  assertNoJson(markdown);
  assert.deepEqual(tableRows(markdown), [
    ['Memory allocated by the project modules', '981 B'],
    ['Modules loaded', '5'],
  ]);
  const rows = tableRows(markdown, '## Largest modules');
  assert.deepEqual(rows[0], ['`shop.catalog`', '584 B', '59.5 %']);
  assert.equal(rows.length, 5);
  assert.match(renderMemory({ modules: [], total_bytes: 0, loaded_modules: 0 }), /_No measurements yet._/);
});

test('status: a readable table', () => {
  const markdown = renderStatus(FIXTURES.status);
  assertNoJson(markdown);
  const rows = Object.fromEntries(tableRows(markdown).map(([k, v]) => [k, v]));
  assert.equal(rows['hotmod version'], '`0.1.0`');
  assert.equal(rows['Workspace trusted'], 'yes');
  assert.equal(rows['Python version'], '`3.11.7`');
  assert.equal(rows['Modules'], '5');
  assert.equal(rows['Broken modules'], '**2**');
  assert.equal(rows['Dev mode'], 'no');
  assert.equal(rows['Last check took'], '157 ms');
  assert.match(rows['Last check at'], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
  const empty = Object.fromEntries(tableRows(renderStatus({})).map(([k, v]) => [k, v]));
  assert.equal(empty['Worker PID'], '—');
  assert.doesNotMatch(markdown, /cannot be checked/);
});

test('status: a folder that cannot be checked says why', () => {
  const markdown = renderStatus({ ...(FIXTURES.status as Record<string, unknown>), worker_pid: null, error: 'Python interpreter not found: /nope' });
  assert.match(markdown, /\*\*This folder cannot be checked:\*\* Python interpreter not found: \/nope/);
  assert.equal(Object.fromEntries(tableRows(markdown).map(([k, v]) => [k, v]))['Worker PID'], '—');
});

test('profile: summary, HTML report link, hottest lines', () => {
  assert.deepEqual(profileSummary(FIXTURES.profileModule), {
    text: 'Profiled shop.report: 71.5 ms, ok; hottest line 17 (30.9 ms own time)',
    failed: 0,
  });
  const markdown = renderProfile(FIXTURES.profileModule);
  assertNoJson(markdown);
  assert.match(markdown, /^# hotmod: profile of `shop.report`/);
  assert.match(markdown, /> Profiled shop.report \(ok\): 71.5 ms; hottest line 17 \(30.9 ms\)/);
  const head = Object.fromEntries(tableRows(markdown).map(([k, v]) => [k, v]));
  assert.equal(head['Module'], '`shop.report`');
  assert.equal(head['File'], '`/tmp/hm/ws/shop/report.py`');
  assert.equal(head['Status'], 'ok');
  assert.equal(head['Import time (profiled)'], '71.5 ms');
  assert.equal(head['Memory traced'], 'yes');
  assert.ok(!('Error' in head));
  const html = '/root/.cache/hotmod/workspaces/ws-e07eaf993d1a/profiles/shop.report.html';
  assert.ok(markdown.includes(`[shop.report.html](file://${html})`), markdown);
  assert.ok(markdown.includes(`\`${html}\``));

  const lines = tableRows(markdown, '## Hottest lines (own time, without the imports they start)');
  assert.equal(lines.length, 10);
  assert.deepEqual(lines[0], ['17', '30.9 ms', '43.3 %', '1', '30.9 ms', '2.2 MB', '`INDEX = build_index(20000)`']);
  assert.deepEqual(lines[1].slice(0, 4), ['20', '10.4 ms', '14.5 %', '5']);
  // line 18's own time leaves out the xml.dom.minidom import it starts
  assert.deepEqual(lines[2].slice(0, 5), ['18', '1.1 ms', '1.5 %', '1', '23.0 ms']);
});

test('profile: the import tree, nested, with failed imports marked', () => {
  const markdown = renderProfile(FIXTURES.profileModule);
  const imports = tableRows(markdown, '## Imports (cumulative and own time of find + load)');
  assert.deepEqual(
    imports.slice(0, 4).map((r) => r[0]),
    ['`shop`', '`shop.catalog`', '&nbsp;&nbsp;↳ `shop.prices`', '`xml.dom.minidom`'],
  );
  assert.deepEqual(imports[1], ['`shop.catalog`', '2.0 ms', '1.1 ms', '16.3 KB', '4', 'project', '']);
  assert.deepEqual(imports[3].slice(0, 6), ['`xml.dom.minidom`', '15.4 ms', '4.3 ms', '469.9 KB', '12', 'third-party']);
  const org = imports.find((r) => r[0].endsWith('`org`'));
  assert.ok(org, 'the failed import of org is listed');
  assert.match(org[0], /^(&nbsp;){10}↳ `org`$/);
  assert.equal(org[6], "**ModuleNotFoundError: No module named 'org'**");
  assert.equal(imports.length, 18);

  const functions = tableRows(markdown, '## Functions (by own time)');
  assert.equal(functions.length, 15);
  assert.match(markdown, /_…and 15 more in the HTML report._/);
  assert.ok(functions.every((r) => r[4] === '—' || /^`[^`]+:\d+`$/.test(r[4])), JSON.stringify(functions));
});

test('profile of a module that fails: the error, and the profile up to it', () => {
  const failed = FIXTURES.profileModuleFailed;
  assert.deepEqual(profileSummary(failed), {
    text: 'Profiled shop.cart: 10.3 ms, failed; hottest line 7 (0.2 ms own time)',
    failed: 1,
  });
  const markdown = renderProfile(failed);
  assertNoJson(markdown);
  const head = Object.fromEntries(tableRows(markdown).map(([k, v]) => [k, v]));
  assert.equal(head['Status'], '**error**');
  assert.equal(head['Error'], "ImportError: cannot import name 'discount' from 'shop.prices'");
  const lines = tableRows(markdown, '## Hottest lines (own time, without the imports they start)');
  assert.equal(lines[0][0], '7');
  assert.equal(lines[0][6], '`from shop.prices import discount, with_tax`');
});

test('profile: missing fields and no HTML report', () => {
  const markdown = renderProfile({ module: 'm', status: 'ok', total_ms: 0, lines: [], imports: [], functions: [], html: null });
  assert.match(markdown, /_No lines ran._/);
  assert.match(markdown, /_No module was imported fresh._/);
  assert.ok(!markdown.includes('HTML report**'));
  assert.match(renderProfile(null), /^# hotmod: profile of `\?`/);
  assert.equal(profileSummary({}).text, 'Profiled ?: —, ok');
  assert.equal(fileUri('/a b/r#1.html'), 'file:///a%20b/r%231.html');
  assert.equal(fileUri('C:\\Users\\me\\p.html'), 'file:///C:/Users/me/p.html');
});

test('dev mode message', () => {
  assert.equal(devModeSummary({ dev_mode: true }), 'hotmod: dev mode on');
  assert.equal(devModeSummary({ dev_mode: false }), 'hotmod: dev mode off');
});

test('formatting helpers', () => {
  assert.equal(formatMs(0.4), '0.4 ms');
  assert.equal(formatMs(310.2), '310 ms');
  assert.equal(formatMs(2500), '2.50 s');
  assert.equal(formatMs('x'), '—');
  assert.equal(formatBytes(1536), '1.5 KB');
  assert.equal(formatBytes(3 * 1024 * 1024), '3.0 MB');
  assert.equal(cell('a|b\nc'), 'a\\|b c');
  assert.equal(code('a`b'), '``a`b``');
  assert.equal(code('plain'), '`plain`');
});
