// Command results (docs/commands.md) -> one-line messages and markdown reports.
// No `vscode` import here: this module is unit-tested under plain node.
// Results come from another process: every field is read defensively.

type Json = Record<string, unknown>;

const DASH = '—';

function record(value: unknown): Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

function list(value: unknown): Json[] {
  return Array.isArray(value) ? value.map(record) : [];
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** A markdown table cell: no pipes or newlines that would break the row. */
export function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').trim();
}

/** An inline code span that survives backticks in the text. */
export function code(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${cell(text)}${pad}${fence}`;
}

export function formatMs(value: unknown): string {
  const ms = num(value);
  if (ms === undefined) {
    return DASH;
  }
  if (ms >= 1000) {
    return `${(ms / 1000).toFixed(2)} s`;
  }
  return `${ms.toFixed(ms >= 100 ? 0 : 1)} ms`;
}

export function formatBytes(value: unknown): string {
  const bytes = num(value);
  if (bytes === undefined) {
    return DASH;
  }
  if (bytes < 1024) {
    return `${Math.round(bytes)} B`;
  }
  if (bytes < 1024 * 1024) {
    return `${(bytes / 1024).toFixed(1)} KB`;
  }
  if (bytes < 1024 * 1024 * 1024) {
    return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  }
  return `${(bytes / (1024 * 1024 * 1024)).toFixed(2)} GB`;
}

function formatTime(epochSeconds: unknown): string {
  const seconds = num(epochSeconds);
  if (seconds === undefined) {
    return DASH;
  }
  return new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function yesNo(value: unknown): string {
  return value === true ? 'yes' : value === false ? 'no' : DASH;
}

function table(headers: string[], rows: string[][], align?: ('l' | 'r')[]): string {
  const rule = headers.map((_, i) => ((align?.[i] ?? 'l') === 'r' ? '---:' : '---'));
  const lines = [`| ${headers.join(' | ')} |`, `| ${rule.join(' | ')} |`];
  for (const row of rows) {
    lines.push(`| ${row.join(' | ')} |`);
  }
  return lines.join('\n');
}

function note(message: unknown): string[] {
  const text = str(message);
  return text ? [`> ${text.replace(/\r?\n/g, ' ')}`, ''] : [];
}

// -- modules ----------------------------------------------------------------------

function moduleName(module: Json): string {
  return str(module.name) ?? str(module.module) ?? '?';
}

function failed(module: Json): boolean {
  return module.status === 'error';
}

function firstProblem(module: Json): string {
  const diagnostics = list(module.diagnostics);
  if (diagnostics.length === 0) {
    return '';
  }
  const first = diagnostics[0];
  const line = num(first.line);
  const where = line !== undefined ? `line ${line}: ` : '';
  const more = diagnostics.length > 1 ? ` (+${diagnostics.length - 1} more)` : '';
  return cell(`${where}${str(first.message) ?? ''}${more}`);
}

function modulesTable(modules: Json[]): string {
  const rows = modules.map((m) => [
    code(moduleName(m)),
    failed(m) ? '**error**' : m.status === 'ok' ? 'ok' : cell(str(m.status) ?? DASH),
    formatMs(m.load_ms),
    formatMs(m.self_ms),
    formatBytes(m.memory_bytes),
    firstProblem(m),
  ]);
  return table(['module', 'status', 'load', 'self', 'memory', 'problem'], rows, ['l', 'l', 'r', 'r', 'r', 'l']);
}

function names(modules: Json[], limit = 3): string {
  const shown = modules.slice(0, limit).map(moduleName);
  const rest = modules.length - shown.length;
  return shown.join(', ') + (rest > 0 ? `, +${rest} more` : '');
}

// -- hotmod.reloadModule ----------------------------------------------------------

export interface Summary {
  /** One line for an information message. */
  text: string;
  /** How many modules failed to import. */
  failed: number;
}

/** "Reloaded shop.cart and 2 dependents: 1 failed (shop.cart)". */
export function reloadSummary(value: unknown): Summary {
  const result = record(value);
  const module = str(result.module) ?? '?';
  if (result.found === false) {
    return { text: str(result.message) ?? `hotmod: module ${module} not found`, failed: 0 };
  }
  const own = result.result === null || result.result === undefined ? [] : [record(result.result)];
  const dependents = list(result.dependents);
  const broken = [...own, ...dependents].filter(failed);
  let text = `Reloaded ${module}`;
  if (dependents.length > 0) {
    text += ` and ${plural(dependents.length, 'dependent')}`;
  }
  text += broken.length === 0 ? ': all ok' : `: ${broken.length} failed (${names(broken)})`;
  return { text, failed: broken.length };
}

export function renderReload(value: unknown): string {
  const result = record(value);
  const module = str(result.module) ?? '?';
  const modules = [
    ...(result.result === null || result.result === undefined ? [] : [record(result.result)]),
    ...list(result.dependents),
  ];
  return [
    `# hotmod: reloaded ${code(module)}`,
    '',
    reloadSummary(value).text,
    '',
    modules.length ? modulesTable(modules) : '_Nothing was imported._',
    '',
  ].join('\n');
}

// -- hotmod.reloadAll / hotmod.refresh --------------------------------------------

/** "Reloaded 5 modules in 12.3 ms: 2 failed (shop.cart, shop.checkout)". */
export function reportSummary(value: unknown, verb = 'Reloaded'): Summary {
  const report = record(value);
  const results = list(report.results);
  const count = num(report.modules) ?? results.length;
  const broken = results.filter(failed);
  const failedCount = num(report.failed) ?? broken.length;
  let text = `${verb} ${plural(count, 'module')} in ${formatMs(report.duration_ms)}`;
  text += failedCount === 0 ? ': all import' : `: ${failedCount} failed`;
  if (failedCount > 0 && broken.length > 0) {
    text += ` (${names(broken)})`;
  }
  const added = Array.isArray(report.added) ? report.added.filter((x) => typeof x === 'string') : [];
  const removed = Array.isArray(report.removed) ? report.removed.filter((x) => typeof x === 'string') : [];
  if (added.length) {
    text += `; added ${added.join(', ')}`;
  }
  if (removed.length) {
    text += `; removed ${removed.join(', ')}`;
  }
  if (report.cancelled === true) {
    text += ' (cancelled: a newer check took over)';
  }
  return { text, failed: failedCount };
}

export function renderReport(value: unknown, title: string, verb = 'Reloaded'): string {
  const report = record(value);
  const results = list(report.results);
  const lines = [`# hotmod: ${title}`, '', reportSummary(value, verb).text, ''];
  const added = Array.isArray(report.added) ? report.added.filter((x): x is string => typeof x === 'string') : [];
  const removed = Array.isArray(report.removed)
    ? report.removed.filter((x): x is string => typeof x === 'string')
    : [];
  if (added.length) {
    lines.push(`**Added:** ${added.map(code).join(', ')}`, '');
  }
  if (removed.length) {
    lines.push(`**Removed:** ${removed.map(code).join(', ')}`, '');
  }
  // Broken modules first, then by name.
  const sorted = [...results].sort(
    (a, b) => Number(failed(b)) - Number(failed(a)) || moduleName(a).localeCompare(moduleName(b)),
  );
  lines.push(sorted.length ? modulesTable(sorted) : '_No modules._', '');
  return lines.join('\n');
}

// -- hotmod.toggleDevMode ---------------------------------------------------------

export function devModeSummary(value: unknown): string {
  const devMode = record(value).dev_mode;
  return devMode === true ? 'hotmod: dev mode on' : devMode === false ? 'hotmod: dev mode off' : 'hotmod: dev mode toggled';
}

// -- hotmod.performanceSummary ----------------------------------------------------

/** Slowest first, by the load time shown in the first column of numbers. */
function timingRows(timings: Json[]): string[][] {
  return [...timings]
    .sort((a, b) => (num(b.load_ms) ?? 0) - (num(a.load_ms) ?? 0))
    .map((t) => [code(str(t.module) ?? '?'), formatMs(t.load_ms), formatMs(t.self_ms)]);
}

export function renderPerformance(value: unknown): string {
  const summary = record(value);
  const threshold = formatMs(summary.slow_threshold_ms);
  const lines = ['# hotmod: performance summary', '', ...note(summary.message)];
  lines.push(
    table(
      ['measure', 'value'],
      [
        ['Scans of the workspace', String(num(summary.total_scans) ?? DASH)],
        ['Average scan', formatMs(summary.average_scan_ms)],
        ['Module imports (loads)', String(num(summary.total_loads) ?? DASH)],
        ['Average import', formatMs(summary.average_load_ms)],
        ['Slow threshold', threshold],
      ],
      ['l', 'r'],
    ),
    '',
  );
  const slowest = list(summary.slowest);
  lines.push('## Slowest imports', '');
  lines.push(
    slowest.length
      ? table(['module', 'load (with its imports)', 'self (own code)'], timingRows(slowest), ['l', 'r', 'r'])
      : '_No imports yet._',
    '',
  );
  const slow = list(summary.slow_loads);
  lines.push(`## Slow imports (over ${threshold})`, '');
  lines.push(
    slow.length
      ? table(['module', 'load (with its imports)', 'self (own code)'], timingRows(slow), ['l', 'r', 'r'])
      : '_None._',
    '',
  );
  const counts = Object.entries(record(summary.reload_counts))
    .filter((entry): entry is [string, number] => num(entry[1]) !== undefined)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  lines.push('## Reloads per module', '');
  lines.push(
    counts.length
      ? table(['module', 'reloads'], counts.map(([name, count]) => [code(name), String(count)]), ['l', 'r'])
      : '_None._',
    '',
  );
  return lines.join('\n');
}

// -- hotmod.memoryReport ----------------------------------------------------------

export function renderMemory(value: unknown): string {
  const report = record(value);
  const total = num(report.total_bytes);
  const lines = ['# hotmod: memory report', '', ...note(report.message)];
  lines.push(
    table(
      ['measure', 'value'],
      [
        ['Memory allocated by the project modules', formatBytes(total)],
        ['Modules loaded', String(num(report.loaded_modules) ?? DASH)],
      ],
      ['l', 'r'],
    ),
    '',
  );
  const modules = list(report.modules);
  lines.push('## Largest modules', '');
  if (modules.length === 0) {
    lines.push('_No measurements yet._', '');
  } else {
    const rows = modules.map((m) => {
      const bytes = num(m.bytes);
      const share = bytes !== undefined && total ? `${((100 * bytes) / total).toFixed(1)} %` : DASH;
      return [code(str(m.module) ?? '?'), formatBytes(bytes), share];
    });
    lines.push(table(['module', 'memory', 'share'], rows, ['l', 'r', 'r']), '');
  }
  return lines.join('\n');
}

// -- hotmod.status ----------------------------------------------------------------

export function renderStatus(value: unknown): string {
  const status = record(value);
  const text = (v: unknown): string => {
    const s = str(v);
    return s ? code(s) : DASH;
  };
  const count = (v: unknown): string => String(num(v) ?? DASH);
  const broken = num(status.broken_count);
  const rows = [
    ['hotmod version', text(status.version)],
    ['Workspace trusted', yesNo(status.trusted)],
    ['Root', text(status.root)],
    ['Python', text(status.python)],
    ['Python version', text(status.python_version)],
    ['Modules', count(status.module_count)],
    ['Broken modules', broken === undefined ? DASH : broken > 0 ? `**${broken}**` : '0'],
    ['Worker PID', count(status.worker_pid)],
    ['Dev mode', yesNo(status.dev_mode)],
    ['Last check took', formatMs(status.last_check_ms)],
    ['Last check at', formatTime(status.last_check_at)],
  ];
  const problem = str(status.error);
  const why = problem ? [`**This folder cannot be checked:** ${problem}`, ''] : [];
  return ['# hotmod: status', '', ...why, table(['', 'value'], rows), ''].join('\n');
}

// -- hotmod.profileModule ---------------------------------------------------------

/** A `file:` URI for a local path (POSIX or Windows), for a link in the markdown preview. */
export function fileUri(path: string): string {
  let p = path.replace(/\\/g, '/');
  if (/^[A-Za-z]:/.test(p)) {
    p = '/' + p;
  }
  return 'file://' + p.split('/').map(encodeURIComponent).join('/').replace(/^\/([A-Za-z])%3A/, '/$1:');
}

function baseName(path: string | undefined): string {
  if (!path) {
    return '';
  }
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1];
}

function share(part: unknown, total: unknown): string {
  const p = num(part);
  const t = num(total);
  return p !== undefined && t ? `${((100 * p) / t).toFixed(1)} %` : DASH;
}

/** "Profiled shop.catalog: 5.7 ms, ok; hottest line 3 (0.1 ms own time)". */
export function profileSummary(value: unknown): Summary {
  const profile = record(value);
  const module = str(profile.module) ?? '?';
  const error = profile.status === 'error';
  let text = `Profiled ${module}: ${formatMs(profile.total_ms)}, ${error ? 'failed' : 'ok'}`;
  const hottest = list(profile.lines)[0] as Json | undefined;
  const line = hottest ? num(hottest.line) : undefined;
  if (hottest && line !== undefined) {
    text += `; hottest line ${line} (${formatMs(hottest.self_ms)} own time)`;
  }
  return { text, failed: error ? 1 : 0 };
}

/** The import tree, depth-first, with its depth (children in the server's order). */
function flattenImports(imports: Json[], depth = 0, out: { node: Json; depth: number }[] = []): { node: Json; depth: number }[] {
  for (const node of imports) {
    out.push({ node, depth });
    flattenImports(list(node.children), depth + 1, out);
  }
  return out;
}

const IMPORT_ROWS = 40;
const FUNCTION_ROWS = 15;

export function renderProfile(value: unknown): string {
  const profile = record(value);
  const module = str(profile.module) ?? '?';
  const total = profile.total_ms;
  const lines = [`# hotmod: profile of ${code(module)}`, '', ...note(profile.message)];
  const error = str(profile.error);
  const html = str(profile.html);
  lines.push(
    table(
      ['', 'value'],
      [
        ['Module', code(module)],
        ['File', str(profile.path) ? code(str(profile.path) as string) : DASH],
        ['Status', profile.status === 'error' ? '**error**' : profile.status === 'ok' ? 'ok' : DASH],
        ...(error ? [['Error', cell(error)]] : []),
        ['Import time (profiled)', formatMs(total)],
        ['Memory traced', yesNo(profile.memory_traced)],
      ],
    ),
    '',
  );
  if (html) {
    lines.push(
      `**HTML report** (icicle chart of imports and calls, sortable tables): [${cell(baseName(html))}](${fileUri(html)}) — ${code(html)}`,
      '',
    );
  }
  lines.push(
    '_Times are measured under tracing, which inflates call-heavy code: compare lines with each other, not with a check._',
    '',
  );

  const hot = list(profile.lines);
  lines.push('## Hottest lines (own time, without the imports they start)', '');
  if (hot.length === 0) {
    lines.push('_No lines ran._', '');
  } else {
    const rows = hot.map((l) => [
      String(num(l.line) ?? DASH),
      formatMs(l.self_ms),
      share(l.self_ms, total),
      String(num(l.hits) ?? DASH),
      formatMs(l.ms),
      formatBytes(l.self_bytes),
      str(l.text) ? code(str(l.text) as string) : '',
    ]);
    lines.push(
      table(['line', 'own time', 'share', 'hits', 'with imports', 'memory', 'code'], rows, ['r', 'r', 'r', 'r', 'r', 'r', 'l']),
      '',
    );
  }

  const imports = flattenImports(list(profile.imports));
  lines.push('## Imports (cumulative and own time of find + load)', '');
  if (imports.length === 0) {
    lines.push('_No module was imported fresh._', '');
  } else {
    const rows = imports.slice(0, IMPORT_ROWS).map(({ node, depth }) => {
      const indent = '&nbsp;&nbsp;'.repeat(depth) + (depth > 0 ? '↳ ' : '');
      const importError = str(node.error);
      const line = num(node.line);
      return [
        indent + code(str(node.name) ?? '?'),
        formatMs(node.ms),
        formatMs(node.self_ms),
        formatBytes(node.bytes),
        line !== undefined ? String(line) : DASH,
        node.project === true ? 'project' : node.project === false ? 'third-party' : DASH,
        importError ? `**${cell(importError)}**` : '',
      ];
    });
    lines.push(
      table(['module', 'cumulative', 'own', 'memory', 'line', 'kind', 'error'], rows, ['l', 'r', 'r', 'r', 'r', 'l', 'l']),
      '',
    );
    if (imports.length > IMPORT_ROWS) {
      lines.push(`_…and ${imports.length - IMPORT_ROWS} more in the HTML report._`, '');
    }
  }

  const functions = list(profile.functions);
  lines.push('## Functions (by own time)', '');
  if (functions.length === 0) {
    lines.push('_None._', '');
  } else {
    const rows = functions.slice(0, FUNCTION_ROWS).map((f) => {
      const line = num(f.line);
      const where = baseName(str(f.path)) + (line !== undefined ? `:${line}` : '');
      return [
        code(str(f.name) ?? '?'),
        String(num(f.calls) ?? DASH),
        formatMs(f.self_ms),
        formatMs(f.ms),
        where ? code(where) : DASH,
      ];
    });
    lines.push(table(['function', 'calls', 'own time', 'total', 'where'], rows, ['l', 'r', 'r', 'r', 'l']), '');
    if (functions.length > FUNCTION_ROWS) {
      lines.push(`_…and ${functions.length - FUNCTION_ROWS} more in the HTML report._`, '');
    }
  }
  if (profile.truncated === true) {
    lines.push('_The call tree was very large and was capped; small calls are folded into their callers._', '');
  }
  return lines.join('\n');
}
